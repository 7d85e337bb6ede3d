import assert from "node:assert/strict";
import { Conn, ConnectionClosedError, Server, WSConn } from "../mod.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import { socketPair } from "./_socket_pair.ts";

Deno.test("socketPair() delivers frames in order, then the close, to the peer", async () => {
  const [client, server] = socketPair();
  const got: string[] = [];
  const closed = new Promise<CloseEvent>((resolve) =>
    server.addEventListener("close", (e) => resolve(e as CloseEvent))
  );
  server.addEventListener("message", (e) => got.push((e as MessageEvent).data));
  client.send("a");
  client.send("b");
  client.close(4001, "bye");
  const event = await closed;
  assert.deepEqual(got, ["a", "b"]);
  assert.equal(event.code, 4001);
  assert.equal(event.reason, "bye");
  assert.deepEqual(client.closeStatus, { code: 4001, reason: "bye" });
});

Deno.test("socketPair() hold() keeps frames in bufferedAmount until release()", async () => {
  const [client, server] = socketPair();
  const got: string[] = [];
  server.addEventListener("message", (e) => got.push((e as MessageEvent).data));
  client.hold();
  client.send("12345");
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(client.bufferedAmount, 5);
  assert.deepEqual(got, []);
  client.release();
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(client.bufferedAmount, 0);
  assert.deepEqual(got, ["12345"]);
});

Deno.test("socketPair() client end refuses close codes the WHATWG WebSocket refuses", () => {
  const [client, server] = socketPair();
  assert.throws(() => client.close(1009, "too big"), DOMException);
  server.close(1009, "too big"); // a server socket may send it
  client.drop();
});

Deno.test("socketPair() carries a Server session and a Conn without binding a port", async () => {
  const server = new Server(demoAPI, { handlers: demoHandlers });
  const [clientSocket, serverSocket] = socketPair();
  const served = server.serveSocket(serverSocket);
  const conn = new Conn("ws://in-memory/", { api: demoAPI, webSocket: () => clientSocket });
  await conn.connect();
  const pong = await conn.call("demo-ping-request", { timestamp: 7 });
  assert.equal(pong.origintimestamp, 7);
  assert.deepEqual(await conn.call("demo-echo-request", { x: [1, 2] }), { x: [1, 2] });
  await conn.close();
  await served;
  assert.equal(server.sessions.size, 0);
});

Deno.test("socketPair() drop() fails a WSConn read with 1006", async () => {
  const [client] = socketPair();
  const conn = new WSConn(client);
  const read = conn.readJSON();
  client.drop();
  const error = await read.catch((e) => e);
  assert.ok(error instanceof ConnectionClosedError);
  assert.equal(error.code, 1006);
});
