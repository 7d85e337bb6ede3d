// The server's fast path added for `deno task bench` (bench/): it runs a
// synchronous handler without a timer. The Conn tests of this file moved to
// conn_test.ts (its shared call timer) and call_table_test.ts; this Server test
// belongs in server_test.ts or the router's test (to be moved with lib/_router.ts).
import assert from "node:assert/strict";
import { Conn, ProtocolError } from "../mod.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import { startServer } from "./_server.ts";

Deno.test("Server: sync, async and failing handlers still answer each request", async () => {
  let sawSignal = false;
  await using server = startServer(demoAPI, {
    handlers: {
      ...demoHandlers,
      "demo-echo-request": (payload, { signal }) => {
        sawSignal = signal instanceof AbortSignal && !signal.aborted;
        return payload;
      },
      "demo-fail-request": () => {
        throw new ProtocolError("sync failure");
      },
    },
    requestTimeoutMs: 100,
  });
  await using conn = new Conn(server.url, { api: demoAPI });
  await conn.connect();
  assert.deepEqual(await conn.call("demo-echo-request", { a: 1 }), { a: 1 });
  assert.ok(sawSignal, "a sync handler that reads its signal gets a live one");
  await assert.rejects(conn.call("demo-fail-request", {}), /sync failure/);
  // An async handler past requestTimeoutMs: the client gets a timeout error.
  await assert.rejects(conn.call("demo-sleep-request", { ms: 1_000 }), /request timed out/);
  assert.equal((await conn.call("demo-ping-request", { timestamp: 3 })).origintimestamp, 3);
});
