import assert from "node:assert/strict";
import { ConnectionClosedError, WSConn } from "../mod.ts";
import { socketPair } from "./_socket_pair.ts";

/** Polls `condition` every 5 ms; throws after `timeoutMs` instead of hanging the suite. */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A raw echo-ish server: runs `onSocket` for each server-side socket. */
function rawServer(onSocket: (socket: WebSocket) => void) {
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    onSocket(socket);
    return response;
  });
  return { url: `ws://127.0.0.1:${http.addr.port}/`, [Symbol.asyncDispose]: () => http.shutdown() };
}

// Over the in-memory pair: these need no runtime socket.

Deno.test("WSConn.readJSON() returns frames that arrived before the close, then rejects", async () => {
  const [client, server] = socketPair();
  const conn = new WSConn(client);
  server.send('"a"');
  server.send('"b"');
  server.close(4000, "done");
  const status = await conn.closed;
  assert.deepEqual(status, { code: 4000, reason: "done" });
  assert.equal(await conn.readJSON(), "a");
  assert.equal(await conn.readJSON(), "b");
  const error = await conn.readJSON().catch((e) => e);
  assert.ok(error instanceof ConnectionClosedError);
  assert.equal(error.code, 4000);
  await assert.rejects(conn.writeJSON(1), ConnectionClosedError);
});

Deno.test("WSConn.readJSON() can be aborted without losing the next frame", async () => {
  const [client, server] = socketPair();
  await using conn = new WSConn(client);
  const controller = new AbortController();
  const first = conn.readJSON(controller.signal);
  controller.abort(new Error("stop"));
  await assert.rejects(first, /stop/);
  await assert.rejects(conn.readJSON(AbortSignal.abort(new Error("pre"))), /pre/);
  server.send('{"kept":true}');
  assert.deepEqual(await conn.readJSON(), { kept: true });
});

Deno.test("WSConn refuses overlapping reads", async () => {
  const [client] = socketPair();
  await using conn = new WSConn(client);
  const controller = new AbortController();
  const first = conn.readJSON(controller.signal);
  await assert.rejects(conn.readJSON(), /another read is pending/);
  controller.abort();
  await assert.rejects(first);
});

// Over real sockets: what the runtime's WebSocket does.

Deno.test("WSConn sends writes made while connecting once the socket opens", async () => {
  await using srv = rawServer((socket) => {
    socket.addEventListener("message", (e) => socket.send(`{"echo":${e.data}}`));
  });
  await using conn = new WSConn(new WebSocket(srv.url));
  await conn.writeJSON({ n: 1 }); // still CONNECTING: queued
  await conn.writeJSON({ n: 2 });
  assert.deepEqual(await conn.readJSON(), { echo: { n: 1 } });
  assert.deepEqual(await conn.readJSON(), { echo: { n: 2 } });
});

Deno.test("WSConn.close() cuts the reason to 123 bytes without splitting a character", async () => {
  let seen: { code: number; reason: string } | undefined;
  await using srv = rawServer((socket) => {
    socket.addEventListener("close", (e) => seen = { code: e.code, reason: e.reason });
  });
  const conn = new WSConn(new WebSocket(srv.url));
  await new Promise((r) => setTimeout(r, 50));
  conn.close(4001, "é".repeat(100)); // 200 bytes
  await conn.closed;
  await waitFor(() => seen !== undefined, "close seen by the server");
  // 122 bytes: the 62nd character would split at 123.
  assert.deepEqual(seen as { code: number; reason: string } | undefined, {
    code: 4001,
    reason: "é".repeat(61),
  });
  conn.close(); // idempotent
});
