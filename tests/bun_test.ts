/**
 * `createHandler()` under Deno, against fakes of Bun's `Server` and
 * `ServerWebSocket`: what `fetch` answers, and how the `websocket` callbacks
 * drive the server core (first ping, requests, binary frames, backpressure
 * through `send` returning -1 and `drain`). The same adapter runs for real
 * under Bun in `tests/bun/server.test.ts`.
 */
import assert from "node:assert/strict";
import { Server, type ServerOptions } from "../mod.ts";
import {
  type BunServerLike,
  type BunServerWebSocket,
  type BunSocketData,
  createBunHandler,
  createHandler,
} from "../lib/bun.ts";
import { createHandler as createDenoHandler } from "../lib/deno.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";

type DemoAPI = typeof demoAPI;

/** A fake `ServerWebSocket` that records what the adapter does to it. */
class FakeSocket implements BunServerWebSocket<BunSocketData> {
  readonly data: BunSocketData;
  readyState = 1;
  readonly sent: string[] = [];
  closedWith: [number | undefined, string | undefined] | undefined;
  sendResult = 0; // 0: report the byte count; otherwise return this
  buffered: number | undefined;
  getBufferedAmount?: () => number;

  constructor(data: BunSocketData, withBufferedAmount: boolean) {
    this.data = data;
    if (withBufferedAmount) this.getBufferedAmount = () => this.buffered ?? 0;
  }

  send(data: string): number {
    this.sent.push(data);
    return this.sendResult || data.length;
  }

  close(code?: number, reason?: string): void {
    this.closedWith ??= [code, reason];
    this.readyState = 2;
  }

  async nextSent(count: number): Promise<string> {
    const until = Date.now() + 5_000;
    while (this.sent.length < count) {
      if (Date.now() > until) throw new Error(`only ${this.sent.length} frames sent`);
      await new Promise((r) => setTimeout(r, 2));
    }
    return this.sent[count - 1]!;
  }
}

function fakeBun(upgraded: unknown[], accept = true): BunServerLike {
  return {
    upgrade: (_request, options) => {
      upgraded.push(options?.data);
      return accept;
    },
    requestIP: () => ({ address: "127.0.0.1", port: 4242 }),
  };
}

const upgradeHeaders = { upgrade: "websocket", connection: "Upgrade" };

Deno.test("createHandler() is the name both adapters export; createBunHandler is its alias", () => {
  assert.equal(createBunHandler, createHandler);
  assert.equal(typeof createDenoHandler, "function");
  assert.notEqual(createDenoHandler, createHandler); // the same name, one per runtime
});

Deno.test("createHandler() answers 404, 426, 403 and 400 before upgrading", async () => {
  const server = new Server(demoAPI, { handlers: demoHandlers });
  const { fetch } = createHandler(server, { path: "/v1/ws" });
  const upgraded: unknown[] = [];
  const bun = fakeBun(upgraded);
  assert.equal(
    (await fetch(new Request("http://h/other", { headers: upgradeHeaders }), bun))
      ?.status,
    404,
  );
  assert.equal((await fetch(new Request("http://h/v1/ws"), bun))?.status, 426);
  const foreign = new Request("http://h/v1/ws", {
    headers: { ...upgradeHeaders, origin: "https://evil.example" },
  });
  assert.equal((await fetch(foreign, bun))?.status, 403);
  assert.equal(upgraded.length, 0);
  const refused = await fetch(new Request("http://h/v1/ws", { headers: upgradeHeaders }), {
    upgrade: () => false,
  });
  assert.equal(refused?.status, 400);
  await server.shutdown();
});

Deno.test("createHandler() upgrades with the request and address in ws.data", async () => {
  const server = new Server(demoAPI, { handlers: demoHandlers });
  const { fetch } = createHandler(server);
  const upgraded: unknown[] = [];
  const request = new Request("http://h/any", { headers: upgradeHeaders });
  assert.equal(await fetch(request, fakeBun(upgraded)), undefined); // Bun sends the 101
  const data = upgraded[0] as BunSocketData;
  assert.equal(data.request, request);
  assert.equal(data.remoteAddr, "127.0.0.1:4242");
  await server.shutdown();
});

Deno.test("createHandler() takes maxPayloadLength from the server's readLimit", () => {
  const server = new Server(demoAPI, { handlers: demoHandlers, readLimit: 4096 });
  assert.equal(createHandler(server).websocket.maxPayloadLength, 4096);
  assert.equal(
    createHandler(server, { maxPayloadLength: 99 }).websocket.maxPayloadLength,
    99,
  );
  const defaults = new Server(demoAPI, { handlers: demoHandlers });
  assert.equal(createHandler(defaults).websocket.maxPayloadLength, 512 * 1024);
  assert.equal(
    createHandler(server, { perMessageDeflate: true }).websocket.perMessageDeflate,
    true,
  );
  for (const bad of [0, -1, 1.5, NaN]) {
    assert.throws(() => createHandler(server, { maxPayloadLength: bad }), RangeError);
  }
});

async function session(
  options: Partial<ServerOptions<DemoAPI>> = {},
  withBufferedAmount = true,
) {
  const server = new Server(demoAPI, { handlers: demoHandlers, onError: () => {}, ...options });
  const { websocket } = createHandler(server);
  const ws = new FakeSocket(
    { request: new Request("http://h/v1/ws"), remoteAddr: "127.0.0.1:1" },
    withBufferedAmount,
  );
  websocket.open(ws);
  const ping = JSON.parse(await ws.nextSent(1));
  return { server, websocket, ws, ping };
}

Deno.test("createHandler() websocket: ping first, then answers requests", async () => {
  const { server, websocket, ws, ping } = await session();
  assert.deepEqual(ping.header, { command: "demo-ping-request", id: "0" });
  const [s] = server.sessions.values();
  assert.equal(s?.remoteAddr, "127.0.0.1:1");
  websocket.message(
    ws,
    JSON.stringify({ header: { command: "demo-echo-request", id: "5" }, payload: [1, "a"] }),
  );
  const answer = JSON.parse(await ws.nextSent(2));
  assert.deepEqual(answer, {
    header: { command: "demo-echo-response", id: "5" },
    payload: [1, "a"],
  });
  websocket.close(ws, 1000, "bye");
  await server.shutdown();
  assert.equal(server.sessions.size, 0);
});

Deno.test("createHandler() websocket: a binary frame closes with 1003", async () => {
  const { server, websocket, ws } = await session();
  websocket.message(ws, new Uint8Array([1, 2, 3]));
  assert.deepEqual(ws.closedWith, [1003, "expected text message"]);
  websocket.close(ws, 1003, "expected text message");
  await server.shutdown();
});

Deno.test("createHandler() websocket: ignores sockets it did not upgrade", () => {
  const server = new Server(demoAPI, { handlers: demoHandlers });
  const { websocket } = createHandler(server);
  const foreign = new FakeSocket({ request: new Request("http://h/") }, true);
  const other = { ...foreign, data: { mine: true }, send: foreign.send, close: foreign.close };
  websocket.open(other as unknown as BunServerWebSocket);
  websocket.message(other as unknown as BunServerWebSocket, "{}");
  websocket.close(other as unknown as BunServerWebSocket, 1000, "");
  assert.equal(server.sessions.size, 0);
});

for (const withBufferedAmount of [true, false]) {
  const how = withBufferedAmount ? "getBufferedAmount()" : "send() returning -1 and drain";
  Deno.test(`createHandler() websocket: backpressure through ${how}`, async (t) => {
    const { server, websocket, ws } = await session(
      { writeHighWaterMark: 100, writeTimeoutMs: 300 },
      withBufferedAmount,
    );
    const [s] = server.sessions.values();
    const push = (seq: number, pad = "") =>
      s!.push("demo-event-notification", (pad ? { seq, pad } : { seq }) as { seq: number });
    // Get well over the high-water mark of 100 bytes.
    const congest = async () => {
      ws.sendResult = -1;
      if (withBufferedAmount) {
        ws.buffered = 1_000;
      } else {
        websocket.drain(ws); // start from an empty queue, then queue 500+ bytes
        await push(0, "x".repeat(500)); // counted until the next `drain`
      }
    };
    await congest();
    const sentBefore = ws.sent.length;

    await t.step("a write waits until Bun drains", async () => {
      const waiting = push(1);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(ws.sent.length, sentBefore, "wrote past the high-water mark");
      ws.buffered = 0;
      websocket.drain(ws);
      await waiting;
      assert.equal(ws.sent.length, sentBefore + 1);
    });

    await t.step("a client that never drains is closed with 1008", async () => {
      await congest();
      await assert.rejects(push(2));
      assert.equal(ws.closedWith?.[0], 1008);
      assert.match(ws.closedWith?.[1] ?? "", /write timed out/);
    });
    websocket.close(ws, 1008, "write timed out");
    await server.shutdown();
  });
}
