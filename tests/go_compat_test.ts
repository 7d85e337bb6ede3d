/**
 * What Go peers (hemi's `api/protocol`, tbcd) need from wsrpc, over real
 * sockets on 127.0.0.1: requests without parameters go out as `{}` (a `null`
 * request crashes tbcd-style servers), keys are read case-insensitively as
 * Go's `encoding/json` reads them, and a Deno client's 1009 reaches the peer
 * with its reason.
 */
import assert from "node:assert/strict";
import { Conn, ConnectionClosedError, schemalessAPI } from "../mod.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import { RawClient, rawConnect, startServer } from "./_server.ts";

/** A raw `Deno.serve` WebSocket peer: sends the first ping, then lets `onFrame` answer. */
function rawPeer(onFrame: (socket: WebSocket, frame: string) => void) {
  const frames: string[] = [];
  let resolveClosed!: (info: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => resolveClosed = r);
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onopen = () =>
      socket.send('{"header":{"command":"demo-ping-request","id":"0"},"payload":{"timestamp":1}}');
    socket.onmessage = (e) => {
      frames.push(e.data);
      onFrame(socket, e.data);
    };
    socket.onclose = (e) => resolveClosed({ code: e.code, reason: e.reason });
    return response;
  });
  return {
    url: `ws://127.0.0.1:${http.addr.port}/v1/ws`,
    frames,
    closed,
    [Symbol.asyncDispose]: () => http.shutdown(),
  };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

Deno.test("Conn.call(command, undefined) sends {} as Go clients do; an explicit null stays null", async () => {
  await using peer = rawPeer((socket, frame) => {
    const { header } = JSON.parse(frame);
    const response = header.command.replace(/-request$/, "-response");
    socket.send(JSON.stringify({ header: { command: response, id: header.id }, payload: {} }));
  });
  await using conn = new Conn(peer.url, { api: schemalessAPI });
  await conn.connect();
  await conn.call("tbcapi-block-header-best-raw-request", undefined);
  await conn.call("x-wants-null-request", null);
  assert.deepEqual(peer.frames, [
    '{"header":{"command":"tbcapi-block-header-best-raw-request","id":"1"},"payload":{}}',
    '{"header":{"command":"x-wants-null-request","id":"2"},"payload":null}',
  ]);
});

Deno.test("the server answers a request whose keys are capitalised, as Go's decoder accepts", async () => {
  await using server = startServer(demoAPI, { handlers: demoHandlers });
  await using client = await rawConnect(server.url);
  client.send('{"Header":{"Command":"demo-ping-request","ID":"5"},"Payload":{"timestamp":42}}');
  const response = await client.next();
  assert.deepEqual(response.header, { command: "demo-ping-response", id: "5" });
  assert.equal((response.payload as { origintimestamp: number }).origintimestamp, 42);
  // and the connection stays up for the next request
  client.send('{"HEADER":{"COMMAND":"demo-echo-request","Id":"6"},"PAYLOAD":{"a":1}}');
  assert.deepEqual(await client.next(), {
    header: { command: "demo-echo-response", id: "6" },
    payload: { a: 1 },
  });
});

Deno.test("Conn settles a call from a response whose keys are capitalised", async () => {
  await using peer = rawPeer((socket, frame) => {
    const { header } = JSON.parse(frame);
    socket.send(
      `{"Header":{"Command":"demo-echo-response","ID":${JSON.stringify(header.id)}},` +
        `"Payload":{"echoed":true}}`,
    );
    socket.send('{"Header":{"Command":"demo-event-notification"},"Payload":{"seq":1}}');
  });
  await using conn = new Conn(peer.url, { api: schemalessAPI });
  await conn.connect();
  assert.deepEqual(await conn.call("demo-echo-request", {}, { timeoutMs: 5_000 }), {
    echoed: true,
  });
  const push = await conn.read({ signal: AbortSignal.timeout(5_000) });
  assert.deepEqual(push, { command: "demo-event-notification", id: "", payload: { seq: 1 } });
});

Deno.test("a Deno Conn over its read limit closes with 4009 and the reason on the wire, 1009 locally", async () => {
  await using peer = rawPeer((socket, frame) => {
    const { header } = JSON.parse(frame);
    socket.send(JSON.stringify({
      header: { command: "demo-echo-response", id: header.id },
      payload: { blob: "x".repeat(2_000) },
    }));
  });
  await using conn = new Conn(peer.url, { api: schemalessAPI, readLimit: 1_024 });
  await conn.connect();
  const error = await conn.call("demo-echo-request", {}, { timeoutMs: 5_000 }).catch((e) => e);
  assert.ok(error instanceof ConnectionClosedError, String(error));
  assert.equal(error.code, 1009);
  assert.equal(error.reason, "read limited at 1024 bytes");
  // Deno's client socket may not send 1009: the peer gets 4009 with the same reason.
  assert.deepEqual(await within(peer.closed, 5_000, "peer close"), {
    code: 4009,
    reason: "read limited at 1024 bytes",
  });
});

Deno.test("a server-side WSConn still sends 1009 itself", async () => {
  await using server = startServer(demoAPI, { handlers: demoHandlers, readLimit: 1_024 });
  await using client = new RawClient(server.url);
  await client.opened;
  client.send(
    JSON.stringify({
      header: { command: "demo-echo-request", id: "1" },
      payload: "x".repeat(2_000),
    }),
  );
  assert.deepEqual(await within(client.closed, 5_000, "server close"), {
    code: 1009,
    reason: "read limited at 1024 bytes",
  });
});
