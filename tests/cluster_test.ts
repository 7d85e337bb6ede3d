// The cluster: 4 server instances as separate processes (2 Deno, 2 Bun) on
// one bus (Redis, then NATS), with clients spread over them. Every client
// gets every publish in bus order; the broker is killed mid-stream and
// restarted (the loss is replayed or reported as a gap, never silent); an
// instance is killed and its clients reconnect to another, which replays
// what they missed; a subscriber that stops reading is closed by its
// instance while the others go on.
import assert from "node:assert/strict";
import { Conn } from "../mod.ts";
import type { TopicGap } from "../lib/topics.ts";
import { clusterAPI } from "../examples/cluster/api.ts";
import { type ChildServer, startChild } from "./interop/_process.ts";
import { ensureBrokers, startNats, startRedis } from "./_brokers.ts";

const INSTANCE = new URL("../examples/cluster/instance.ts", import.meta.url).pathname;
const BUN = Deno.env.get("BUN") ?? "bun";

type Event = { n: number; from: string };

/** A client of the cluster: records every event and gap of topic "t". */
class Client {
  readonly events: number[] = [];
  readonly gaps: TopicGap[] = [];
  readonly conn: Conn<typeof clusterAPI>;
  #reading: Promise<void> = Promise.resolve();
  constructor(pick: () => string) {
    this.conn = new Conn("ws://cluster/", {
      api: clusterAPI,
      webSocket: () => new WebSocket(pick()),
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      onTopicGap: (gap) => this.gaps.push(gap),
      callTimeoutMs: 10_000,
    });
  }
  async connect(): Promise<void> {
    await this.conn.connect();
    this.#reading = (async () => {
      for await (const push of this.conn) this.events.push((push.payload as Event).n);
    })().catch(() => {});
  }
  async close(): Promise<void> {
    await this.conn.close();
    await this.#reading;
  }
}

async function until(what: string, done: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function increasing(list: number[]): boolean {
  return list.every((n, i) => i === 0 || n > list[i - 1]!);
}

/** Publishes n through a client, retrying while the broker is away. */
async function publish(via: Client, n: number): Promise<void> {
  for (let tries = 0;; tries++) {
    try {
      await via.conn.call("cluster-publish-request", { topic: "t", n });
      return;
    } catch (error) {
      if (tries > 300) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

await ensureBrokers();

for (const kind of ["redis", "nats"] as const) {
  Deno.test(`cluster on ${kind}: 4 instances (Deno and Bun), broker restart, instance loss, a stalled subscriber`, async () => {
    const broker = kind === "redis" ? await startRedis() : await startNats();
    const instances: ChildServer[] = [];
    const clients: Client[] = [];
    try {
      const env = { BUS: kind, BUS_URL: broker.url, WRITE_TIMEOUT_MS: "2000" };
      const findURL = (lines: string[]) =>
        lines.find((l) => l.startsWith("listening "))?.slice("listening ".length);
      const starts = [0, 1, 2, 3].map((i) =>
        i % 2 === 0
          ? startChild(Deno.execPath(), ["run", "-A", INSTANCE], {
            env: { ...env, NAME: `deno-${i}` },
            findURL,
            stopSignal: "SIGKILL", // a crash, as an instance dies
          })
          : startChild(BUN, [INSTANCE], {
            env: { ...env, NAME: `bun-${i}` },
            findURL,
            stopSignal: "SIGKILL",
          })
      );
      instances.push(...await Promise.all(starts));
      const alive = new Set([0, 1, 2, 3]);
      // Two clients per instance; a client whose instance is gone dials a live one.
      for (let i = 0; i < 8; i++) {
        let home = i % 4;
        clients.push(
          new Client(() => {
            if (!alive.has(home)) home = [...alive][i % alive.size]!;
            return instances[home]!.url;
          }),
        );
      }
      await Promise.all(clients.map((c) => c.connect()));
      for (const c of clients) {
        assert.ok(c.conn.extensions.includes("topics"));
        await c.conn.call("cluster-watch-request", { topic: "t" });
      }
      const stats = await Promise.all(
        clients.map((c) => c.conn.call("cluster-stats-request", null)),
      );
      assert.deepEqual(
        new Set(stats.map((s) => s.instance)),
        new Set(["deno-0", "bun-1", "deno-2", "bun-3"]),
      );

      // 1. Publishes from every instance reach every client, in bus order.
      for (let n = 1; n <= 40; n++) await publish(clients[n % 8]!, n);
      await until("40 events everywhere", () => clients.every((c) => c.events.length >= 40));
      for (const c of clients) {
        assert.deepEqual(c.events, [...Array(40)].map((_, i) => i + 1));
      }

      // 2. The broker dies mid-stream and comes back.
      for (let n = 41; n <= 50; n++) await publish(clients[n % 8]!, n);
      await broker.kill();
      const during = publish(clients[0]!, 51); // waits for the broker
      await new Promise((resolve) => setTimeout(resolve, 300));
      await broker.restart();
      await during;
      for (let n = 52; n <= 60; n++) await publish(clients[n % 8]!, n);
      await until("event 60 everywhere", () => clients.every((c) => c.events.at(-1) === 60));
      for (const c of clients) {
        assert.ok(increasing(c.events), `in order, none twice: ${c.events}`);
        const missing = [...Array(60)].map((_, i) => i + 1).filter((n) => !c.events.includes(n));
        // Nothing lost silently: every missing publish is covered by a gap.
        assert.ok(missing.length === 0 || c.gaps.length > 0, `lost without a gap: ${missing}`);
      }
      if (kind === "nats") {
        for (const c of clients) assert.equal(c.events.length, 60, "JetStream keeps its store");
      }

      // 3. An instance is killed: its clients reconnect to another, which replays.
      const victim = 3;
      alive.delete(victim);
      const stranded = clients.filter((_, i) => i % 4 === victim);
      const seenBefore = stranded.map((c) => c.events.length);
      await instances[victim]!.stop(); // SIGKILL
      for (let n = 61; n <= 80; n++) await publish(clients[n % 2]!, n);
      await until("event 80 everywhere", () => clients.every((c) => c.events.at(-1) === 80));
      for (const [k, c] of stranded.entries()) {
        assert.ok(c.events.length > seenBefore[k]!);
        assert.ok(increasing(c.events), `in order after the move: ${c.events}`);
        for (let n = 61; n <= 80; n++) assert.ok(c.events.includes(n), `replayed ${n}`);
      }

      // 4. A subscriber that stops reading is closed by its instance; the others go on.
      const stats0 = () => clients[0]!.conn.call("cluster-stats-request", null);
      const alone = (await stats0()).sessions;
      const stalled = await stalledSubscriber(instances[0]!.url);
      for (let i = 0; i < 100 && (await stats0()).sessions === alone; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const before = (await stats0()).sessions;
      assert.equal(before, alone + 1);
      const blob = "x".repeat(64 * 1024);
      for (let n = 81; n <= 400; n++) {
        await clients[0]!.conn.call("cluster-publish-request", { topic: "t", n, blob });
      }
      await until("event 400 everywhere", () => clients.every((c) => c.events.at(-1) === 400));
      // Its instance closes it (writeTimeoutMs 2 s without progress); nobody else.
      let after = before;
      for (let i = 0; i < 300 && after === before; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        after = (await stats0()).sessions;
      }
      assert.equal(after, before - 1, "only the stalled session ended");
      stalled.close();
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await Promise.all(instances.map((i) => i.stop()));
      await broker.stop();
    }
  });
}

/**
 * A client that subscribes and then never reads: a raw TCP connection that
 * upgrades, sends one watch request and never reads its socket.
 */
async function stalledSubscriber(url: string): Promise<Deno.TcpConn> {
  const { port } = new URL(url);
  const socket = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
  const upgrade = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n" +
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
    "Sec-WebSocket-Version: 13\r\n\r\n";
  await socket.write(new TextEncoder().encode(upgrade));
  await socket.write(
    maskedText('{"header":{"command":"cluster-watch-request","id":"1"},"payload":{"topic":"t"}}'),
  );
  return socket;
}

function maskedText(text: string): Uint8Array {
  const data = new TextEncoder().encode(text);
  const mask = [1, 2, 3, 4];
  const head = data.length < 126
    ? [0x81, 0x80 | data.length]
    : [0x81, 0x80 | 126, data.length >> 8, data.length & 255];
  const frame = new Uint8Array(head.length + 4 + data.length);
  frame.set(head);
  frame.set(mask, head.length);
  data.forEach((b, i) => frame[head.length + 4 + i] = b ^ mask[i % 4]!);
  return frame;
}
