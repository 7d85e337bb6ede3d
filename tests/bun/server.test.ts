/**
 * The Bun adapter under Bun: `createHandler` in a real `Bun.serve` on
 * 127.0.0.1 port 0, with `Conn` (Bun's global `WebSocket`) and raw sockets as
 * clients. Run with `bun test tests/bun`.
 */
import assert from "node:assert/strict";
import net from "node:net";
import {
  Conn,
  ConnectionClosedError,
  defineAPI,
  HandshakeError,
  ProtocolError,
  Server,
  type ServerOptions,
  type Session,
  unchecked,
} from "../../mod.ts";
import { type BunAdapterOptions, createHandler } from "../../lib/bun.ts";
import { demoAPI, demoHandlers } from "../../lib/demo.ts";
import { ed25519Client, ed25519Server } from "../../lib/ed25519_authenticator.ts";
import { generateKeyPair } from "../../lib/ed25519_keys.ts";
import { afterEach, Bun, describe, test } from "./_harness.ts";

type DemoAPI = typeof demoAPI;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Started<A extends typeof demoAPI | typeof floodAPI> {
  server: Server<A>;
  url: string;
  port: number;
}

function start(
  options: Partial<ServerOptions<DemoAPI>> = {},
  handlerOptions: BunAdapterOptions = {},
): Started<DemoAPI> {
  const server = new Server(demoAPI, { handlers: demoHandlers, onError: () => {}, ...options });
  const http = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    ...createHandler(server, { path: "/v1/ws", ...handlerOptions }),
  });
  cleanups.push(async () => {
    await server.shutdown({ graceMs: 0 });
    await http.stop(true);
  });
  return { server, url: `ws://127.0.0.1:${http.port}/v1/ws`, port: http.port };
}

function client(url: string, options: ConstructorParameters<typeof Conn<DemoAPI>>[1] = {}) {
  const conn = new Conn(url, { api: demoAPI, connectTimeoutMs: 10_000, ...options });
  cleanups.push(() => conn.close());
  return conn;
}

/** A raw WebSocket: waits for the first frame (the ping), sends, and reports the close. */
async function raw(url: string, send: (ws: WebSocket) => void) {
  const ws = new WebSocket(url);
  const frames: string[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason }))
  );
  const first = new Promise<void>((resolve) =>
    ws.addEventListener("message", (e) => {
      frames.push(String(e.data));
      resolve();
    })
  );
  await first;
  send(ws);
  const status = await closed;
  return { frames, ...status };
}

describe("createHandler() with Conn on Bun", () => {
  test("serves calls, pushes, errors and out-of-order answers", async () => {
    const { server, url } = start();
    const conn = client(url);
    await conn.connect();
    const pong = await conn.call("demo-ping-request", { timestamp: 7 });
    assert.equal(pong.origintimestamp, 7);
    const echo = { s: "héllo ✓", big: 2n ** 64n, list: [1, [2, [3]]] };
    assert.deepEqual(await conn.call("demo-echo-request", echo), echo);
    assert.deepEqual(await conn.call("demo-notify-request", { count: 3 }), { count: 3 });
    const seqs = [];
    for (let i = 0; i < 3; i++) seqs.push((await conn.read()).payload);
    assert.deepEqual(seqs, [{ seq: 1 }, { seq: 2 }, { seq: 3 }]);
    await assert.rejects(conn.call("demo-fail-request", {}), (e: unknown) => {
      assert.ok(e instanceof ProtocolError);
      assert.equal(e.message, "demo failure, as requested");
      return true;
    });
    const order: number[] = [];
    await Promise.all(
      [150, 1].map((ms) => conn.call("demo-sleep-request", { ms }).then((r) => order.push(r.ms))),
    );
    assert.deepEqual(order, [1, 150]);
    const [session] = server.sessions.values();
    assert.match(session!.remoteAddr ?? "", /^127\.0\.0\.1:\d+$/);
    assert.equal(new URL(session!.request!.url).pathname, "/v1/ws");
  });

  test("selects and echoes a subprotocol the client offers", async () => {
    const { url } = start({ protocols: ["wsrpc.v2", "wsrpc.v1"] });
    const ws = new WebSocket(url, ["chat", "wsrpc.v1", "wsrpc.v2"]);
    cleanups.push(() => ws.close());
    const first = await new Promise<string>((resolve, reject) => {
      ws.addEventListener("message", (e) => resolve(String(e.data)), { once: true });
      ws.addEventListener("close", (e) => reject(new Error(`closed ${e.code}`)), { once: true });
    });
    assert.equal(ws.protocol, "wsrpc.v2");
    assert.match(first, /"id":"0"/);
    const conn = client(url, { protocols: ["wsrpc.v1"] });
    await conn.connect();
    assert.equal(await conn.call("demo-echo-request", "p"), "p");
  });

  test("sends the ping with id 0 first", async () => {
    const { url } = start();
    const result = await raw(url, (ws) => ws.close(1000, "bye"));
    const first = JSON.parse(result.frames[0]!);
    assert.equal(first.header.command, "demo-ping-request");
    assert.equal(first.header.id, "0");
    assert.equal(typeof first.payload.timestamp, "number");
  });

  test("answers plain HTTP with 426, other paths with 404, foreign origins with 403", async () => {
    const { port } = start();
    const base = `http://127.0.0.1:${port}`;
    const plain = await fetch(`${base}/v1/ws`);
    assert.equal(plain.status, 426);
    await plain.body?.cancel();
    const other = await fetch(`${base}/other`);
    assert.equal(other.status, 404);
    await other.body?.cancel();
    const upgrade = {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
    };
    const foreign = await fetch(`${base}/v1/ws`, {
      headers: { ...upgrade, origin: "https://evil.example" },
    });
    assert.equal(foreign.status, 403);
    assert.match(await foreign.text(), /Origin "https:\/\/evil.example" not allowed/);
    const same = await fetch(`${base}/v1/ws`, {
      headers: { ...upgrade, origin: `http://127.0.0.1:${port}` },
    });
    assert.equal(same.status, 101); // same-origin upgrades
    await same.body?.cancel().catch(() => {});
  });

  test("hands non-upgrade requests to the fallback", async () => {
    const { port } = start({}, { fallback: () => new Response("hello from fallback") });
    const response = await fetch(`http://127.0.0.1:${port}/v1/ws`);
    assert.equal(await response.text(), "hello from fallback");
  });

  test("closes a binary frame with 1003", async () => {
    const { url } = start();
    const result = await raw(url, (ws) => ws.send(new Uint8Array([1, 2, 3])));
    assert.deepEqual([result.code, result.reason], [1003, "expected text message"]);
  });

  test("closes malformed JSON with 1007 and an unknown command with 1008", async () => {
    const { url } = start();
    const bad = await raw(url, (ws) => ws.send("{not json"));
    assert.deepEqual([bad.code, bad.reason], [1007, "failed to unmarshal JSON"]);
    const unknown = await raw(
      url,
      (ws) => ws.send(JSON.stringify({ header: { command: "nope", id: "1" }, payload: null })),
    );
    assert.equal(unknown.code, 1008);
    assert.match(unknown.reason, /invalid command/);
  });

  test("sets maxPayloadLength from readLimit: at the limit passes, over it closes 1009", async () => {
    const readLimit = 1024;
    const { url } = start({ readLimit });
    const conn = client(url);
    await conn.connect();
    // {"header":{"command":"demo-echo-request","id":"1"},"payload":"..."} is 65 bytes + the string.
    const envelope = JSON.stringify({
      header: { command: "demo-echo-request", id: "1" },
      payload: "",
    }).length;
    const fits = "x".repeat(readLimit - envelope);
    assert.equal(await conn.call("demo-echo-request", fits), fits);
    const over = conn.call("demo-echo-request", fits + "xx");
    await assert.rejects(over, (e: unknown) => {
      assert.ok(e instanceof ConnectionClosedError);
      assert.equal(e.code, 1009);
      assert.equal(e.reason, "Received too big message"); // refused by Bun, before buffering
      return true;
    });
  });

  test("shutdown() closes sessions with 1001", async () => {
    const { server, url } = start();
    const conn = client(url);
    await conn.connect();
    const dropped = new Promise<ConnectionClosedError>((resolve) => {
      const c = new Conn(url, { api: demoAPI, onDisconnect: resolve });
      cleanups.push(() => c.close());
      void c.connect();
    });
    while (server.sessions.size < 2) await new Promise((r) => setTimeout(r, 5));
    await server.shutdown({ graceMs: 0 });
    const error = await dropped;
    assert.equal(error.code, 1001);
    assert.equal(server.sessions.size, 0);
    await assert.rejects(conn.call("demo-ping-request", { timestamp: 1 }), ConnectionClosedError);
  });
});

describe("createHandler() with the ed25519 authenticator", () => {
  test("admits an allowed key and refuses others with 4100", async () => {
    const serverKey = await generateKeyPair();
    const alice = await generateKeyPair();
    const mallory = await generateKeyPair();
    const opened: Session<DemoAPI>[] = [];
    const { url } = start({
      authenticator: ed25519Server({
        secretKey: serverKey.secretKey,
        allow: [alice.publicKey],
      }),
      onSessionOpen: (s) => opened.push(s),
    });
    const good = client(url, {
      authenticator: ed25519Client({
        secretKey: alice.secretKey,
        serverPublicKey: serverKey.publicKey,
        userAgent: "bun-test",
      }),
    });
    await good.connect();
    assert.equal((await good.call("demo-ping-request", { timestamp: 3 })).origintimestamp, 3);
    assert.equal(opened.length, 1);
    assert.equal(opened[0]!.peer?.publicKey, alice.publicKey.toHex());
    assert.equal(opened[0]!.peer?.userAgent, "bun-test");

    const bad = client(url, {
      authenticator: ed25519Client({
        secretKey: mallory.secretKey,
        serverPublicKey: serverKey.publicKey,
      }),
    });
    await assert.rejects(bad.connect(), (e: unknown) => {
      // README: a refused key rejects connect() with a HandshakeError, never a bare close.
      assert.ok(e instanceof HandshakeError, String(e));
      assert.match(e.message, /^failed to handshake with server: .*invalid public key/);
      return true;
    });
    assert.equal(opened.length, 1);
  });
});

const floodAPI = defineAPI({
  "flood-ping-request": unchecked<{ timestamp: number }>(),
  "flood-ping-response": unchecked<{ origintimestamp: number; timestamp: number }>(),
  "flood-data-notification": unchecked<string>(),
});

describe("createHandler() backpressure", () => {
  test("a client that stops reading is closed with 1008 after writeTimeoutMs", async () => {
    let status: { code: number; reason: string } | undefined;
    let pushed = 0;
    const block = "x".repeat(64 * 1024);
    const server = new Server(floodAPI, {
      handlers: {},
      writeHighWaterMark: 256 * 1024,
      writeTimeoutMs: 300,
      onError: () => {},
      onSessionOpen: (session) => {
        void (async () => {
          // Far more than socket buffers hold: 64 MiB.
          for (let i = 0; i < 1024; i++) {
            await session.push("flood-data-notification", block);
            pushed++;
          }
        })().catch(() => {});
      },
      onSessionClose: (_s, s) => status = s,
    });
    const http = Bun.serve({ hostname: "127.0.0.1", port: 0, ...createHandler(server) });
    cleanups.push(async () => {
      await server.shutdown({ graceMs: 0 });
      await http.stop(true);
    });
    // A raw TCP client that sends the upgrade and then never reads.
    const socket = net.connect(http.port, "127.0.0.1");
    cleanups.push(() => void socket.destroy());
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write(
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    socket.pause();
    const until = Date.now() + 15_000;
    while (status === undefined && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(status?.code, 1008);
    assert.match(status?.reason ?? "", /write timed out/);
    assert.ok(pushed < 1024, `pushed ${pushed} blocks of 64 KiB without backpressure`);
  });
});
