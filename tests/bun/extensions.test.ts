/**
 * The wsrpc extensions under Bun: `createHandler` in a real `Bun.serve` on
 * 127.0.0.1 port 0 and `Conn` on Bun's global `WebSocket`: cancel reaches
 * the handler, trace reaches its context, describe answers. Run with
 * `bun test tests/bun`.
 */
import assert from "node:assert/strict";
import { Conn, defineAPI, Server, unchecked } from "../../mod.ts";
import type { TraceContext } from "../../lib/types.ts";
import { createHandler } from "../../lib/bun.ts";
import { afterEach, Bun, test } from "./_harness.ts";

const api = defineAPI({
  "t-ping-request": unchecked<unknown>(),
  "t-ping-response": unchecked<unknown>(),
  "t-wait-request": unchecked<unknown>(),
  "t-wait-response": unchecked<unknown>(),
});
const PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

test("extensions on Bun: cancel aborts the handler, trace reaches it, describe answers", async () => {
  const aborted: unknown[] = [];
  const traces: (TraceContext | undefined)[] = [];
  const server = new Server(api, {
    extensions: ["cancel", "describe", "trace"],
    handlers: {
      "t-wait-request": (_p, { signal, trace }) =>
        new Promise((resolve) => {
          traces.push(trace);
          signal.addEventListener("abort", () => {
            aborted.push(signal.reason);
            resolve(null);
          });
        }),
    },
  });
  const http = Bun.serve({ hostname: "127.0.0.1", port: 0, ...createHandler(server) });
  cleanups.push(async () => {
    await server.shutdown({ graceMs: 0 });
    await http.stop(true);
  });
  const conn = new Conn(`ws://127.0.0.1:${http.port}/`, {
    api,
    trace: () => ({ traceparent: PARENT }),
  });
  cleanups.push(() => conn.close());
  await conn.connect();
  assert.deepEqual(conn.extensions, ["cancel", "describe", "trace"]);
  const abort = new AbortController();
  const call = conn.call("t-wait-request", {}, { signal: abort.signal });
  while (traces.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  abort.abort();
  await assert.rejects(call);
  while (aborted.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal((aborted[0] as DOMException).message, "Request cancelled by the client");
  assert.deepEqual(traces, [{ traceparent: PARENT }]);
  const { commands } = await conn.describe("t-wait-request");
  assert.deepEqual(commands, [{
    command: "t-wait-request",
    kind: "request",
    response: "t-wait-response",
    schema: "unchecked",
  }]);
});
