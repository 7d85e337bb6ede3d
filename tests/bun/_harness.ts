/**
 * `bun:test` and the `Bun` global, typed locally so these files type-check
 * under Deno too (`deno check tests/`) without bun-types. Only `bun test`
 * runs them; Deno's test config excludes this folder.
 */
import type { BunHandler } from "../../lib/bun.ts";

interface BunTest {
  test(name: string, fn: () => unknown, timeoutMs?: number): void;
  describe(name: string, fn: () => void): void;
  afterEach(fn: () => unknown): void;
}

/** A running `Bun.serve`. */
export interface BunHTTPServer {
  readonly port: number;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}

/** A subprocess started by `Bun.spawn`. */
export interface BunSubprocess {
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly exited: Promise<number>;
  kill(signal?: string | number): void;
}

/** The part of the `Bun` global the tests use. */
export interface BunGlobal {
  serve(
    options: BunHandler & { hostname: string; port: number; idleTimeout?: number },
  ): BunHTTPServer;
  spawn(cmd: string[], options: { stdout: "pipe"; stderr: "pipe" }): BunSubprocess;
  which(cmd: string): string | null;
  version: string;
}

// A computed specifier, so that Deno does not try to resolve `bun:test`.
const specifier: string = "bun:test";
const runner = (await import(specifier)) as BunTest;

/** Registers a test; the timeout defaults to 20 s (Bun's is 5 s: too tight on a shared CI machine). */
export function test(name: string, fn: () => unknown, timeoutMs = 20_000): void {
  runner.test(name, fn, timeoutMs);
}

/** Groups tests. */
export const describe: BunTest["describe"] = runner.describe;
/** Runs after each test of the file. */
export const afterEach: BunTest["afterEach"] = runner.afterEach;

/** Bun's global. */
export const Bun: BunGlobal = (globalThis as unknown as { Bun: BunGlobal }).Bun;
