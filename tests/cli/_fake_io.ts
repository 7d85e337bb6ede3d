/**
 * In-process CLI test helpers: a {@linkcode CliIO} over strings (through the
 * same safe-text writers the real one uses), `wsrpc ARGS...` run in-process,
 * and `wsrpc serve` run in-process until a fake signal stops it.
 */
import assert from "node:assert/strict";
import { type CliIO, cliIO } from "../../lib/cli/_io.ts";
import { main } from "../../lib/cli/_main.ts";
import { run as serveRun } from "../../lib/cli/serve.ts";

/** A CliIO that records its output and delivers signals on demand. */
export interface FakeIO extends CliIO {
  readonly stdout: string;
  readonly stderr: string;
  /** The codes `exit` was called with. */
  readonly exits: number[];
  /** Delivers `signal` to its listeners; returns how many there were. */
  signal(signal: Deno.Signal): number;
  /** Resolves once `stream`'s text so far satisfies `until`; rejects after `timeoutMs`. */
  waitFor(
    stream: "stdout" | "stderr",
    until: (text: string) => boolean,
    timeoutMs?: number,
  ): Promise<void>;
}

/** A fresh {@linkcode FakeIO}; `stdin` is what stdin holds, `terminal` whether stdout is one. */
export function fakeIO(
  { stdin = "", terminal = false, brokenPipe = false }: {
    stdin?: string;
    terminal?: boolean;
    /** stdout throws BrokenPipe, as when the reader went away. */
    brokenPipe?: boolean;
  } = {},
): FakeIO {
  const text = { stdout: "", stderr: "" };
  const listeners = new Map<Deno.Signal, Set<() => void>>();
  const exits: number[] = [];
  let changed = Promise.withResolvers<void>();
  const io = cliIO({
    writeLine(stream, line) {
      if (stream === "stdout" && brokenPipe) throw new Deno.errors.BrokenPipe("broken pipe");
      text[stream] += `${line}\n`;
      changed.resolve();
      changed = Promise.withResolvers<void>();
    },
    readStdin: () => Promise.resolve(stdin),
    isTerminal: () => terminal,
    onSignal(signal, listener) {
      const set = listeners.get(signal) ?? new Set();
      listeners.set(signal, set);
      set.add(listener);
      return () => set.delete(listener);
    },
    exit: (code) => void exits.push(code),
  });
  return {
    ...io,
    get stdout() {
      return text.stdout;
    },
    get stderr() {
      return text.stderr;
    },
    exits,
    signal(signal) {
      const set = [...(listeners.get(signal) ?? [])];
      for (const listener of set) listener();
      return set.length;
    },
    async waitFor(stream, until, timeoutMs = 10_000) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${stream} never matched: ${JSON.stringify(text[stream])}`)),
          timeoutMs,
        );
      });
      try {
        while (!until(text[stream])) await Promise.race([changed.promise, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** What a run of `wsrpc` left behind. */
export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `wsrpc ARGS...` in-process to completion. */
export async function wsrpc(
  args: string[],
  options: { stdin?: string; terminal?: boolean } = {},
): Promise<Result> {
  const io = fakeIO(options);
  const code = await main(args, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

/** Asserts the exit code, showing the output when it differs. */
export function assertExit(result: Result, code: number): void {
  assert.equal(
    result.code,
    code,
    `exit ${result.code}, expected ${code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
  );
}

/** A `wsrpc serve` running in-process. */
export interface Serving {
  url: string;
  io: FakeIO;
  /** Delivers `signal` and waits for the command to return: its exit code and all of stderr. */
  stop(signal?: Deno.Signal): Promise<{ code: number; stderr: string }>;
}

/** Starts `wsrpc serve --port 0 ARGS...` in-process and reads the URL from its first line. */
export async function serve(args: string[] = []): Promise<Serving> {
  const io = fakeIO();
  const done = serveRun(["--port", "0", ...args], io);
  const first = await Promise.race([
    io.waitFor("stdout", (t) => t.includes("\n")).then(() => undefined),
    done,
  ]);
  if (first !== undefined) throw new Error(`wsrpc serve exited ${first}: ${io.stderr}`);
  const url = io.stdout.split("\n")[0]!;
  let stopping: Promise<{ code: number; stderr: string }> | undefined;
  return {
    url,
    io,
    stop(signal: Deno.Signal = "SIGTERM") {
      return stopping ??= (async () => {
        io.signal(signal);
        const code = await done;
        return { code, stderr: io.stderr };
      })();
    },
  };
}
