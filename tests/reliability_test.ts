/**
 * Reliability and security under load, faults and hostile input: every
 * server limit checked over a real socket, the regressions the stress suite
 * found, and the short forms of the six scenarios in `stress/` (the long
 * forms run under `deno task stress`; figures in docs/reliability.md).
 */
import assert from "node:assert/strict";
import {
  Conn,
  ConnectionClosedError,
  ProtocolError,
  Server,
  type Session,
  WSConn,
} from "../mod.ts";
import { createHandler } from "../lib/deno.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import { startChild } from "./interop/_process.ts";
import { pipelineCalls, type PipelineResult } from "./_pipeline.ts";
import { messageOf } from "../lib/framing.ts";
import { ed25519Server } from "../lib/ed25519_authenticator.ts";
import { gc, RawClient, sleep, startServer, stressAPI, waitFor } from "../stress/_util.ts";
import { fuzz } from "../stress/fuzz.ts";
import { serverDeath } from "../stress/server_death.ts";
import { clientDeath } from "../stress/client_death.ts";
import { slowConsumer } from "../stress/slow_consumer.ts";
import { floods } from "../stress/floods.ts";
import { soak } from "../stress/soak.ts";

const request = (command: string, id: string, payload: unknown) =>
  JSON.stringify(messageOf(command, id, payload));

/** Reads frames until one with `id`, or a close (returned as its code). */
async function answer(c: RawClient, id: string): Promise<Record<string, unknown> | number> {
  for (;;) {
    const f = await c.readFrame();
    if (f === undefined) return 1006;
    if (f.opcode === 8) return f.payload.length >= 2 ? (f.payload[0]! << 8) | f.payload[1]! : 1005;
    if (f.opcode !== 1) continue;
    const m = JSON.parse(new TextDecoder().decode(f.payload));
    if (m.header?.id === id) return m;
  }
}

Deno.test("Server readLimit closes a message over it with 1009 and answers one at it", async () => {
  const srv = startServer({ readLimit: 4096 });
  try {
    const ok = await RawClient.connect(srv.port);
    const envelope = request("demo-echo-request", "1", "").length;
    await ok.sendText(request("demo-echo-request", "1", "a".repeat(4096 - envelope)));
    const m = await answer(ok, "1");
    assert.equal(typeof m, "object");
    ok.close();
    const big = await RawClient.connect(srv.port);
    await big.sendText(request("demo-echo-request", "2", "a".repeat(4097 - envelope)));
    assert.equal(await big.readUntilClose(), 1009);
    big.close();
  } finally {
    await srv.close();
  }
});

Deno.test("Server maxDepth closes nesting past it with 1009 and accepts nesting at it", async () => {
  const srv = startServer({ maxDepth: 10 });
  try {
    const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
    const ok = await RawClient.connect(srv.port);
    // The envelope is one level, the payload nine more: ten in all.
    await ok.sendText(`{"header":{"command":"demo-echo-request","id":"1"},"payload":${nested(9)}}`);
    assert.equal(typeof await answer(ok, "1"), "object");
    ok.close();
    const deep = await RawClient.connect(srv.port);
    await deep.sendText(
      `{"header":{"command":"demo-echo-request","id":"1"},"payload":${nested(10)}}`,
    );
    assert.equal(await deep.readUntilClose(), 1009);
    deep.close();
  } finally {
    await srv.close();
  }
});

Deno.test("Server maxInFlight answers requests past it with an error and keeps the connection", async () => {
  const srv = startServer({ maxInFlight: 4 });
  const conn = new Conn(srv.url, { api: stressAPI });
  try {
    await conn.connect();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => conn.call("demo-sleep-request", { ms: 200 })),
    );
    const ok = results.filter((r) => r.status === "fulfilled").length;
    const refused = results.filter((r) =>
      r.status === "rejected" && r.reason instanceof ProtocolError &&
      r.reason.message === "too many requests in flight (limit 4)"
    ).length;
    assert.equal(ok, 4);
    assert.equal(refused, 6);
    assert.deepEqual(await conn.call("demo-echo-request", 1), 1);
  } finally {
    await conn.close();
    await srv.close();
  }
});

Deno.test("Server maxConnections refuses upgrades past it with 503 and frees slots on close", async () => {
  const srv = startServer({ maxConnections: 2 });
  try {
    for (let round = 0; round < 3; round++) {
      const a = await RawClient.connect(srv.port);
      const b = await RawClient.connect(srv.port);
      const c = await RawClient.connect(srv.port);
      assert.deepEqual([a.status, b.status, c.status], [101, 101, 503]);
      for (const x of [a, b, c]) x.close();
      assert.ok(await waitFor(() => srv.server.sessions.size === 0, 5_000));
      await sleep(50);
    }
  } finally {
    await srv.close();
  }
});

Deno.test("Server maxConnections still counts a closed client that never read until its socket closes", async () => {
  // Regression: the slot was freed 1 s after the server closed a client that
  // does not read, while its socket stayed open (with its unsent data), so
  // such clients could exceed maxConnections without bound.
  const srv = startServer({
    maxConnections: 2,
    writeHighWaterMark: 64 * 1024,
    writeTimeoutMs: 200,
  });
  const clients: RawClient[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const c = await RawClient.connect(srv.port);
      clients.push(c);
      await c.sendText(request("stress-push-request", "1", { count: 100_000, size: 16_384 }));
    }
    assert.ok(await waitFor(() => srv.server.sessions.size === 0, 10_000));
    await sleep(1_200);
    const extra = await RawClient.connect(srv.port);
    clients.push(extra);
    assert.equal(extra.status, 503);
    // Once the stalled clients go away, their slots come back.
    for (const c of clients) c.close();
    await sleep(300);
    const again = await RawClient.connect(srv.port);
    clients.push(again);
    assert.equal(again.status, 101);
  } finally {
    for (const c of clients) c.close();
    await srv.close();
  }
});

Deno.test("Server handshakeTimeoutMs closes a stalled handshake with 4100 and frees the session", async () => {
  const srv = startServer({ authenticator: ed25519Server(), handshakeTimeoutMs: 300 });
  try {
    const c = await RawClient.connect(srv.port);
    assert.equal(srv.server.sessions.size, 1);
    const start = performance.now();
    assert.equal(await c.readUntilClose(), 4100);
    assert.ok(performance.now() - start < 5_000);
    c.close();
    assert.ok(await waitFor(() => srv.server.sessions.size === 0, 5_000));
  } finally {
    await srv.close();
  }
});

Deno.test("Server idleTimeoutMs closes a silent client with 1008 and spares an active one", async () => {
  const srv = startServer({ idleTimeoutMs: 1_000 });
  const active = new Conn(srv.url, { api: stressAPI });
  try {
    const silent = await RawClient.connect(srv.port);
    await active.connect();
    const closed = silent.readUntilClose();
    for (let i = 0; i < 25; i++) {
      assert.equal(await active.call("demo-echo-request", i), i);
      await sleep(100);
    }
    assert.equal(await closed, 1008);
    assert.ok(active.isOnline);
    silent.close();
  } finally {
    await active.close();
    await srv.close();
  }
});

Deno.test("Server origins allow-lists browser origins and refuses others with 403", async () => {
  const listed = startServer({ origins: ["https://app.example"] });
  const plain = startServer({});
  const statuses: number[] = [];
  try {
    for (
      const [srv, origin] of [
        [listed, "https://app.example"],
        [listed, "https://evil.example"],
        [listed, undefined],
        [plain, undefined],
        [plain, "https://evil.example"],
        [plain, "http://127.0.0.1:PORT"],
      ] as const
    ) {
      const headers: Record<string, string> = origin === undefined
        ? {}
        : { origin: origin.replace("PORT", String(srv.port)) };
      const c = await RawClient.connect(srv.port, { headers });
      statuses.push(c.status);
      c.close();
    }
    assert.deepEqual(statuses, [101, 403, 101, 101, 403, 101]);
  } finally {
    await listed.close();
    await plain.close();
  }
});

Deno.test("Server closes a binary frame with 1003 and a non-JSON frame with 1007", async () => {
  const srv = startServer({});
  try {
    for (const [data, code] of [[new Uint8Array([1, 2, 3]), 1003], ["{nope", 1007]] as const) {
      const ws = new WebSocket(srv.url);
      await new Promise((resolve) => ws.onopen = resolve);
      const closed = new Promise<number>((resolve) => ws.onclose = (e) => resolve(e.code));
      ws.send(data);
      assert.equal(await closed, code);
    }
  } finally {
    await srv.close();
  }
});

Deno.test("Server readQueueLimit closes a client that floods requests without reading", async () => {
  // Regression: a client that sent requests without reading the answers
  // grew the server's memory without bound (about 55 MB/s on loopback) until
  // writeTimeoutMs, because the runtime delivers messages whether read or not.
  const srv = startServer({ writeTimeoutMs: 30_000, readQueueLimit: 1024 * 1024 });
  const c = await RawClient.connect(srv.port);
  try {
    gc();
    const heapBefore = Deno.memoryUsage().heapUsed;
    const frame = request("demo-sleep-request", "1", { ms: 10_000 }).padEnd(1000);
    let sending = true;
    let sent = 0;
    const flood = (async () => {
      while (sending) {
        await c.sendText(frame);
        sent++;
      }
    })().catch(() => {});
    assert.ok(await waitFor(() => srv.server.sessions.size === 0, 20_000), "closed in time");
    sending = false;
    c.close();
    await flood;
    gc();
    assert.ok(Deno.memoryUsage().heapUsed - heapBefore < 16 * 1024 * 1024);
    assert.ok(sent > 1000);
  } finally {
    c.close();
    await srv.close();
  }
});

Deno.test("WSConn counts each unsent message's overhead against writeHighWaterMark", async () => {
  // Regression: bufferedAmount counts bytes only, but Deno keeps about 0.9 KiB
  // per queued message, so a stream of small messages held ~10x the mark.
  let buffered = 0;
  const sent: string[] = [];
  const socket = {
    readyState: 1,
    get bufferedAmount() {
      return buffered;
    },
    binaryType: "arraybuffer",
    send(data: string) {
      sent.push(data);
      buffered += data.length;
    },
    close() {},
    addEventListener() {},
  };
  const conn = new WSConn(socket, { writeHighWaterMark: 64 * 1024, writeTimeoutMs: 100 });
  const small = JSON.stringify("x".repeat(50)); // 52 bytes
  let error: unknown;
  try {
    for (let i = 0; i < 10_000; i++) await conn.writeText(small);
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof ConnectionClosedError && error.code === 1008);
  // 64 KiB at ~1 KiB per message: about 60 messages, not 64 KiB / 52 B = 1260.
  assert.ok(sent.length < 100, `sent ${sent.length} before waiting`);
});

const BUN = Deno.env.get("BUN") ?? "bun";
const PIPELINED = 1_000_000;

/** Regression: a client that reads every answer was closed with 1008 `read queue full`. */
function assertPipelined(r: PipelineResult): void {
  assert.equal(r.failed, 0, r.firstError);
  assert.equal(r.ok, PIPELINED);
}

Deno.test("backpressure: 1,000,000 pipelined calls from a Deno Conn to a Deno server all succeed", async () => {
  await using server = await startChild(Deno.execPath(), [
    "run",
    "-A",
    new URL("./interop/deno_server.ts", import.meta.url).pathname,
    "--port",
    "0",
  ]);
  assertPipelined(await pipelineCalls(server.url, PIPELINED));
});

Deno.test("backpressure: 1,000,000 pipelined calls from a Deno Conn to a Bun server all succeed", async () => {
  await using server = await startChild(BUN, [
    new URL("../examples/bun/server.ts", import.meta.url).pathname,
    "--port",
    "0",
  ]);
  assertPipelined(await pipelineCalls(server.url, PIPELINED));
});

Deno.test("backpressure: 1,000,000 pipelined calls from a Bun Conn to a Bun server all succeed", async () => {
  await using server = await startChild(BUN, [
    new URL("../examples/bun/server.ts", import.meta.url).pathname,
    "--port",
    "0",
  ]);
  const out = await new Deno.Command(BUN, {
    args: [new URL("./_pipeline.ts", import.meta.url).pathname, server.url, String(PIPELINED)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assertPipelined(JSON.parse(stdout.trim().split("\n").at(-1)!));
});

Deno.test("demo-notify stops pushing once its client is gone; pushes to a closed session fail fast", async () => {
  // Regression: after 1,000 `demo-notify-request` {count: 10000} and a
  // disconnect, the demo kept calling `session.push` (encoding each payload)
  // 10,000 times per request at 100% CPU, stalling every other client.
  const pushes = { total: 0, afterClose: 0 };
  const watched = (session: Session) =>
    new Proxy(session, {
      get(target, key) {
        if (key === "push") {
          return (...args: Parameters<Session["push"]>) => {
            pushes.total++;
            if (target.signal.aborted) pushes.afterClose++;
            return target.push(...args);
          };
        }
        const value = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const notify = demoHandlers["demo-notify-request"]!;
  let gone: Session | undefined;
  const server = new Server(demoAPI, {
    onError: () => {},
    maxInFlight: 1_000,
    handlers: {
      ...demoHandlers,
      "demo-notify-request": (payload, ctx) =>
        notify(payload, { ...ctx, signal: ctx.signal, session: watched(ctx.session) }),
    },
    onSessionClose: (session) => gone ??= session,
  });
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    createHandler(server, { path: "/v1/ws" }),
  );
  const requests = 200;
  const good = new Conn(`ws://127.0.0.1:${http.addr.port}/v1/ws`, { api: demoAPI });
  try {
    const c = await RawClient.connect(http.addr.port);
    for (let i = 1; i <= requests; i++) {
      await c.sendText(request("demo-notify-request", String(i), { count: 10_000 }));
    }
    assert.ok(await waitFor(() => pushes.total >= requests, 10_000), "pushing began");
    c.close();
    assert.ok(await waitFor(() => gone !== undefined, 10_000), "session ended");
    await good.connect();
    let slowest = 0;
    for (let i = 0; i < 20; i++) {
      const start = performance.now();
      await good.call("demo-ping-request", { timestamp: i });
      slowest = Math.max(slowest, performance.now() - start);
    }
    await sleep(200);
    // Each push loop may learn of the close from at most one push; the rest stop.
    assert.ok(pushes.afterClose <= requests, `${pushes.afterClose} pushes after close`);
    const settled = pushes.total;
    await sleep(200);
    assert.equal(pushes.total, settled, "pushing stopped");
    assert.ok(slowest < 2_000, `ping took ${slowest} ms`);
    // A push to the closed session rejects at once, without encoding its payload.
    let encoded = 0;
    const payload = { toJSON: () => (encoded++, { seq: 1 }) };
    const pushed = gone!.push("demo-event-notification", payload as never);
    await assert.rejects(pushed, ConnectionClosedError);
    assert.equal(encoded, 0);
    assert.ok(gone!.signal.aborted);
  } finally {
    await good.close();
    await server.shutdown({ graceMs: 0 });
    await http.shutdown();
  }
});

Deno.test("stress: fuzz of hostile frames (short form)", async () => {
  const r = await fuzz({ seed: 20261124, frames: 3_000, concurrency: 6 });
  assert.equal(r.frames, 3_000);
  assert.equal(r.unhandledRejections, 0);
  assert.equal(r.uncaughtErrors, 0);
  assert.ok(r.prototypeClean);
  assert.ok(r.goodCalls > 0);
  assert.equal(r.goodCallsWrong, 0);
  assert.equal(r.sessionsAfter, 0);
  assert.ok(r.heapEndMB - r.heapStartMB < 32, `heap grew ${r.heapEndMB - r.heapStartMB} MB`);
});

Deno.test("stress: server death with 1,000 calls in flight (short form)", async () => {
  const r = await serverDeath({ calls: 1_000, after: 50 });
  assert.equal(r.receivedBeforeKill, 1_000);
  assert.equal(r.typedRejections, 1_000, r.firstOther);
  assert.ok(r.settleMaxMs < 1_000, `settled after ${r.settleMaxMs} ms`);
  assert.ok(r.offlineCallOk);
  assert.equal(r.afterOk, 50);
  assert.equal(r.duplicateSends, 0);
  assert.equal(r.receivedByNewServer, 51);
});

Deno.test("stress: client death mid-upgrade, -handshake, -request and -frame (short form)", async () => {
  const r = await clientDeath({ clients: 10, requestsEach: 5 });
  for (const [name, c] of Object.entries(r)) {
    assert.equal(c.sessionsAfter, 0, name);
    assert.equal(c.inFlightAfter, 0, name);
    assert.equal(c.runningHandlersAfter, 0, name);
  }
  assert.equal(r.midHandshake.sessionsBefore, 10);
  assert.equal(r.midRequest.inFlightBefore, 50);
  assert.equal(r.midRequest.handlersAborted, 50);
  assert.equal(r.midFrameWithRequests.handlersAborted, 50);
});

Deno.test("stress: slow consumer is held at the high-water mark and closed with 1008 (short form)", async () => {
  const r = await slowConsumer({
    clients: 2,
    highWaterMark: 256 * 1024,
    writeTimeoutMs: 500,
    pushSize: 16 * 1024,
    pushCount: 20_000,
  });
  assert.deepEqual(r.closeCodes, { "1008": 2 });
  assert.match(r.pushError, /1008 "write timed out: peer is not reading"/);
  assert.equal(r.sessionsAfter, 0);
  // 655 MB asked for; what the server wrote before waiting is kernel buffers
  // plus the high-water mark, a few MB per client.
  assert.ok(r.pushedPerClientMB < 32, `${r.pushedPerClientMB} MB per client`);
  assert.ok(r.heapPeakMB - r.heapBeforeMB < 64);
});

Deno.test("stress: floods of connections, handshakes and requests (short form)", async () => {
  const r = await floods({
    connections: 300,
    handshakes: 100,
    handshakeTimeoutMs: 500,
    flooders: 2,
    floodMs: 1_000,
    maxInFlight: 8,
  });
  assert.equal(r.serverSessionsHeld, 300);
  assert.deepEqual(r.handshakeCloseCodes, { "4100": 100 });
  assert.ok(r.floodRefusedInFlight > 0);
  assert.equal(r.floodOtherErrors, 0);
  for (
    const p of [
      r.baseline,
      r.duringConnect,
      r.whileHeld,
      r.duringHandshakeFlood,
      r.duringRequestFlood,
    ]
  ) {
    assert.equal(p.failed, 0);
    assert.ok(p.calls > 0);
  }
  assert.equal(r.sessionsAfter, 0);
});

Deno.test("stress: soak of connect, authenticate, call, disconnect (short form)", async () => {
  const r = await soak({ cycles: 400, concurrency: 8, callsEach: 2 });
  assert.equal(r.failures, 0, r.firstFailure);
  assert.equal(r.sessionsAfter, 0);
  assert.equal(r.inFlightAfter, 0);
  assert.ok(r.heapGrowthMB < 8, `heap grew ${r.heapGrowthMB} MB`);
});
