/**
 * The cross-runtime scenario, shared by the Deno and Bun test suites: a
 * client of this runtime against a demo server of another. Runs calls, a
 * push, an error and out-of-order answers, and returns what it saw, so each
 * suite asserts with its own runner.
 */
import { Conn } from "../../lib/conn.ts";
import { HandshakeError, ProtocolError } from "../../lib/errors.ts";
import { demoAPI } from "../../lib/demo.ts";

/** The client's ed25519 key and the server key it pins. */
export interface ScenarioAuth {
  secretKey: string;
  serverPublicKey: string;
}

/** What the scenario observed. */
export interface ScenarioResult {
  pong: { origintimestamp: number; timestamp: number };
  echo: unknown;
  notify: { count: number };
  pushes: number[];
  error: { name: string; message: string; trace: string } | undefined;
  sleepOrder: number[];
}

/**
 * Makes a client for `url`, with the ed25519 authenticator when `auth` is
 * given. The authenticator is loaded only then, so that an unauthenticated
 * run works where it cannot load (Node 22 lacks `Uint8Array.fromHex`).
 */
export async function client(url: string, auth?: ScenarioAuth): Promise<Conn<typeof demoAPI>> {
  const { ed25519Client } = auth === undefined
    ? { ed25519Client: undefined }
    : await import("../../lib/ed25519_authenticator.ts");
  return new Conn(url, {
    api: demoAPI,
    connectTimeoutMs: 10_000,
    callTimeoutMs: 10_000,
    ...(auth === undefined || ed25519Client === undefined ? {} : {
      authenticator: ed25519Client({
        secretKey: auth.secretKey,
        serverPublicKey: auth.serverPublicKey,
        userAgent: "wsrpc-interop",
      }),
    }),
  });
}

/** The echo payload: nested, unicode, and an integer beyond 2^53. */
export const ECHO = { hello: "wörld ✓", list: [1, null, true, { a: "b" }], big: 2n ** 63n + 1n };

/** Connects, runs the calls, closes. */
export async function runScenario(url: string, auth?: ScenarioAuth): Promise<ScenarioResult> {
  const conn = await client(url, auth);
  try {
    await conn.connect();
    const pong = await conn.call("demo-ping-request", { timestamp: 1234 });
    const echo = await conn.call("demo-echo-request", ECHO);
    const notify = await conn.call("demo-notify-request", { count: 3 });
    const pushes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const push = await conn.read({ signal: AbortSignal.timeout(10_000) });
      if (push.command !== "demo-event-notification") {
        throw new Error(`unexpected push ${push.command}`);
      }
      pushes.push((push.payload as { seq: number }).seq);
    }
    let error: ScenarioResult["error"];
    try {
      await conn.call("demo-fail-request", {});
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      error = { name: e.name, message: e.message, trace: e.trace };
    }
    const sleepOrder: number[] = [];
    await Promise.all(
      [200, 1].map((ms) =>
        conn.call("demo-sleep-request", { ms }).then((r) => sleepOrder.push(r.ms))
      ),
    );
    return { pong, echo, notify, pushes, error, sleepOrder };
  } finally {
    await conn.close();
  }
}

/**
 * Connects with a key the server does not allow; returns the error's class
 * name and message (the connect must fail).
 */
export async function refusedConnect(
  url: string,
  auth: ScenarioAuth,
): Promise<{ name: string; message: string; handshake: boolean }> {
  const conn = await client(url, auth);
  try {
    await conn.connect();
  } catch (e) {
    const error = e as Error;
    return {
      name: error.name,
      message: error.message,
      handshake: e instanceof HandshakeError,
    };
  } finally {
    await conn.close();
  }
  throw new Error("connect succeeded with a refused key");
}

/** What running one step gave: its value, or the error's name and message. */
export interface Outcome {
  ok: boolean;
  value?: unknown;
  error?: string;
}

/** Runs one step and reports its outcome instead of throwing (for pages and child processes). */
export async function attempt(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    const e = error as Error;
    return { ok: false, error: `${e?.name}: ${e?.message}` };
  }
}
