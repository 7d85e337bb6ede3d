// Topics on the server (lib/topics.ts, lib/_topic_hub.ts): subscribe from a
// handler, publish and broadcast, subscriptions ending with the session, a
// subscriber that stops reading; over the in-memory pair, no port bound.
import assert from "node:assert/strict";
import { Conn, Server, type ServerOptions } from "../mod.ts";
import { type BusPosition, MemoryBus } from "../lib/topics.ts";
import { topicAPI } from "./_topic_api.ts";
import { pairsServedBy } from "./_pair_server.ts";

/** A MemoryBus that counts the bus subscriptions held per topic. */
class CountingBus extends MemoryBus {
  readonly held = new Map<string, number>();
  override subscribe(topic: string): Promise<void> {
    this.held.set(topic, (this.held.get(topic) ?? 0) + 1);
    return super.subscribe(topic);
  }
  override unsubscribe(topic: string): void {
    this.held.set(topic, (this.held.get(topic) ?? 0) - 1);
    super.unsubscribe(topic);
  }
}

function start(options: Partial<ServerOptions<typeof topicAPI>> = {}) {
  const bus = new CountingBus();
  const server = new Server(topicAPI, {
    bus,
    handlers: {
      "t-watch-request": async ({ topic }, { session }) => {
        await session.subscribe(topic);
        return null;
      },
      "t-unwatch-request": ({ topic }, { session }) => {
        session.unsubscribe(topic);
        return null;
      },
    },
    ...options,
  });
  const { ends, pair, close } = pairsServedBy(server);
  return {
    server,
    bus,
    ends,
    conn: async () => {
      const conn = new Conn("ws://in-memory/", { api: topicAPI, webSocket: pair });
      await conn.connect();
      return conn;
    },
    [Symbol.asyncDispose]: close,
  };
}

async function pushes(conn: Conn<typeof topicAPI>, count: number): Promise<unknown[]> {
  const seen: unknown[] = [];
  while (seen.length < count) {
    const push = await conn.read({ signal: AbortSignal.timeout(5_000) });
    seen.push(push.payload);
  }
  return seen;
}

Deno.test("publish reaches every subscribed session in bus order, and no other", async () => {
  await using srv = start();
  const [a, b, other] = await Promise.all([srv.conn(), srv.conn(), srv.conn()]);
  await a.call("t-watch-request", { topic: "blocks" });
  await b.call("t-watch-request", { topic: "blocks" });
  const positions: BusPosition[] = [];
  for (let n = 1; n <= 100; n++) {
    positions.push(await srv.server.publish("blocks", "t-event-notification", { n }));
  }
  assert.deepEqual(positions.map((p) => p.seq), [...Array(100)].map((_, i) => i + 1));
  await srv.server.broadcast("t-event-notification", { n: -1 });
  const expected = [...[...Array(100)].map((_, i) => ({ n: i + 1 })), { n: -1 }];
  assert.deepEqual(await pushes(a, 101), expected);
  assert.deepEqual(await pushes(b, 101), expected);
  // The unsubscribed session's first push is the broadcast.
  assert.deepEqual(await pushes(other, 1), [{ n: -1 }]);
  for (const conn of [a, b, other]) conn.close();
});

Deno.test("unsubscribe stops delivery; a session's subscriptions end with it", async () => {
  await using srv = start();
  const a = await srv.conn();
  await a.call("t-watch-request", { topic: "x" });
  await a.call("t-watch-request", { topic: "x" }); // twice is one subscription
  await a.call("t-watch-request", { topic: "y" });
  assert.equal(srv.bus.held.get("x"), 1);
  await a.call("t-unwatch-request", { topic: "x" });
  await a.call("t-unwatch-request", { topic: "x" }); // harmless
  assert.equal(srv.bus.held.get("x"), 0);
  await srv.server.publish("x", "t-event-notification", { n: 1 });
  await srv.server.publish("y", "t-event-notification", { n: 2 });
  assert.deepEqual(await pushes(a, 1), [{ n: 2 }]);
  const [session] = srv.server.sessions.values();
  assert.deepEqual([...session!.topics], ["y"]);
  a.close();
  await session!.closed;
  while (srv.server.sessions.size > 0) await new Promise((r) => setTimeout(r, 1));
  await new Promise((r) => setTimeout(r, 0)); // the bus's unsubscribe follows its subscribe
  assert.equal(srv.bus.held.get("y"), 0, "the session's end released its subscription");
});

Deno.test("subscribe refuses an invalid topic with a TypeError, and the session stays", async () => {
  await using srv = start();
  const a = await srv.conn();
  const [session] = srv.server.sessions.values();
  for (const topic of ["", "x".repeat(1025), "a\u0000b", 7 as unknown as string]) {
    await assert.rejects(session!.subscribe(topic), TypeError);
  }
  await assert.rejects(
    srv.server.publish("", "t-event-notification", { n: 1 }),
    TypeError,
  );
  assert.equal(await a.call("t-watch-request", { topic: "ok" }), null, "still served");
  a.close();
});

Deno.test("a subscriber that stops reading is closed by the write bounds; the others get every publish", async () => {
  await using srv = start({ writeHighWaterMark: 16 * 1024, writeQueueLimit: 256 * 1024 });
  const [reader, stalled] = await Promise.all([srv.conn(), srv.conn()]);
  await reader.call("t-watch-request", { topic: "t" });
  await stalled.call("t-watch-request", { topic: "t" });
  const [, stalledSession] = srv.server.sessions.values();
  // The stalled client stops reading: the server's end of its socket holds.
  srv.ends[1]!.peer.hold();
  const blob = "x".repeat(1024);
  const total = 600; // ~600 KiB: past writeHighWaterMark + writeQueueLimit
  const seen: unknown[] = [];
  for (let n = 1; n <= total; n++) {
    await srv.server.publish("t", "t-event-notification", { n, blob });
    // The reading client keeps up: at most 8 publishes ahead of it.
    if (n > 8) seen.push(...await pushes(reader, 1));
  }
  seen.push(...await pushes(reader, 8));
  assert.deepEqual(seen.map((p) => (p as { n: number }).n), [...Array(total)].map((_, i) => i + 1));
  assert.deepEqual(
    (stalledSession!.signal.reason as { code: number; reason: string }).code,
    1008,
  );
  assert.match(String(stalledSession!.signal.reason.reason), /read queue full/);
  reader.close();
});

Deno.test("the in-process bus numbers topics apart and replays what it keeps", async () => {
  const bus = new MemoryBus({ historySize: 3 });
  for (let n = 1; n <= 5; n++) await bus.publish("a", "c", String(n));
  await bus.publish("b", "c", "0");
  const epoch = bus.epoch;
  assert.deepEqual(await bus.history("a", { seq: 2, epoch }), {
    messages: [3, 4, 5].map((n) => ({ topic: "a", seq: n, epoch, command: "c", payload: `${n}` })),
    complete: true,
    epoch,
  });
  const gone = await bus.history("a", { seq: 1, epoch });
  assert.equal(gone.complete, false, "message 2 is past retention");
  const other = await bus.history("a", { seq: 9, epoch: "another process" });
  assert.equal(other.complete, false);
  assert.equal(other.messages.length, 3, "everything of this epoch is new to the reader");
  assert.deepEqual((await bus.history("b", { seq: 1, epoch })).messages, []);
  assert.equal((await bus.history("b", { seq: 1, epoch })).complete, true);
});
