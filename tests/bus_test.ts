// The Bus contract on the three buses: in-process, Redis (node-redis on a
// real redis-server) and NATS (@nats-io/transport-node on a real
// nats-server -js). Brokers run on free loopback ports and stop afterwards;
// a broker that is killed and restarted mid-stream is recovered from by
// itself, with the loss replayed or reported as a gap.
import assert from "node:assert/strict";
import type { Bus, BusListener, BusMessage } from "../lib/topics.ts";
import { MemoryBus } from "../lib/topics.ts";
import { loadClients, startNats, startRedis } from "./_brokers.ts";

const { natsBus, nodeRedisBus } = await loadClients();

/** A listener that records what the bus reports and wakes waiters. */
class Recorder {
  readonly messages: BusMessage[] = [];
  readonly gaps: { topic: string; epoch: string }[] = [];
  readonly health: string[] = [];
  #wake: (() => void)[] = [];
  message(message: BusMessage): void {
    this.messages.push(message);
    this.#notify();
  }
  gap(topic: string, epoch: string): void {
    this.gaps.push({ topic, epoch });
    this.#notify();
  }
  health_(state: string): void {
    this.health.push(state);
  }
  #notify(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }
  async until(done: () => boolean, ms = 10_000): Promise<void> {
    const until = Date.now() + ms;
    while (!done()) {
      if (Date.now() > until) throw new Error("timed out waiting for the bus");
      await new Promise<void>((resolve) => {
        this.#wake.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }
}

function listener(recorder: Recorder): BusListener {
  return {
    message: (m) => recorder.message(m),
    gap: (t, e) => recorder.gap(t, e),
    health: (state) => recorder.health_(state),
  };
}

interface Fixture {
  /** Two buses on the same broker, as two instances have. */
  buses: [Bus, Bus];
  /** Holes in a topic's numbering: NATS numbers the stream, not the topic. */
  dense: boolean;
  close(): Promise<void>;
}

/** Two buses on `broker`; closing closes both, then stops the broker. */
async function twoInstances(
  broker: { url: string; stop(): Promise<void> },
  connect: (url: string) => Promise<{ bus: Bus; close(): Promise<void> }>,
  dense: boolean,
): Promise<Fixture> {
  const [a, b] = await Promise.all([connect(broker.url), connect(broker.url)]);
  return {
    buses: [a.bus, b.bus],
    dense,
    async close() {
      await a.close();
      await b.close();
      await broker.stop();
    },
  };
}

const fixtures: Record<string, () => Promise<Fixture>> = {
  memory: () => {
    const bus = new MemoryBus();
    return Promise.resolve({ buses: [bus, bus], dense: true, close: () => bus.close() });
  },
  redis: async () => twoInstances(await startRedis(), nodeRedisBus, true),
  nats: async () => twoInstances(await startNats(), natsBus, false),
};

for (const [name, make] of Object.entries(fixtures)) {
  Deno.test(`${name} bus: publishes reach the other instance in bus order, once; history replays them`, async () => {
    const fixture = await make();
    try {
      const [publisher, subscriber] = fixture.buses;
      const seen = new Recorder();
      const stop = subscriber.listen(listener(seen));
      await subscriber.subscribe("blocks");
      await subscriber.subscribe("blocks"); // counted: one unsubscribe keeps it
      const positions = [];
      // Two publishers interleave on one topic; the bus decides one order.
      const publishes = [];
      for (let n = 1; n <= 50; n++) {
        publishes.push(publisher.publish("blocks", "t-event-notification", `{"n":${n}}`));
        publishes.push(subscriber.publish("blocks", "t-event-notification", `{"n":${-n}}`));
        publishes.push(publisher.publish("other", "t-event-notification", `{"n":0}`));
      }
      positions.push(...await Promise.all(publishes));
      await seen.until(() => seen.messages.length >= 100);
      await new Promise((resolve) => setTimeout(resolve, 100)); // nothing more comes
      assert.equal(seen.messages.length, 100, "each publish of the topic once, no other topic");
      assert.ok(seen.messages.every((m) => m.topic === "blocks"));
      const seqs = seen.messages.map((m) => m.seq);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), "in bus order");
      const blockPositions = positions.filter((_, i) => i % 3 !== 2).map((p) => p.seq);
      assert.deepEqual(
        seqs,
        [...blockPositions].sort((a, b) => a - b),
        "the seqs publish returned",
      );
      if (fixture.dense) assert.deepEqual(seqs, [...Array(100)].map((_, i) => i + 1));
      assert.deepEqual(seen.gaps, []);

      const epoch = seen.messages[0]!.epoch;
      const tenth = seen.messages[9]!;
      const replay = await publisher.history("blocks", tenth);
      assert.equal(replay.complete, true);
      assert.deepEqual(replay.messages, seen.messages.slice(10), "history after the 10th");
      assert.equal(replay.epoch, epoch);
      const stale = await publisher.history("blocks", { seq: 3, epoch: "another epoch" });
      assert.equal(stale.complete, false, "another epoch is a gap");

      subscriber.unsubscribe("blocks");
      await publisher.publish("blocks", "t-event-notification", '{"n":101}');
      await seen.until(() => seen.messages.length === 101);
      subscriber.unsubscribe("blocks");
      await publisher.publish("blocks", "t-event-notification", '{"n":102}');
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(seen.messages.length, 101, "unsubscribed: no more");
      stop();
    } finally {
      await fixture.close();
    }
  });
}

/** `subscriber` listens to "t"; `publisher` publishes "1" to "5" there, and they arrive. */
async function fiveDelivered(publisher: Bus, subscriber: Bus): Promise<Recorder> {
  const seen = new Recorder();
  subscriber.listen(listener(seen));
  await subscriber.subscribe("t");
  for (let n = 1; n <= 5; n++) await publisher.publish("t", "c", String(n));
  await seen.until(() => seen.messages.length === 5);
  return seen;
}

/** Publishes, retrying every 50 ms while the client reconnects; throws after `retries` + 2 tries. */
async function publishRetrying(
  bus: Bus,
  topic: string,
  command: string,
  payload: string,
  retries: number,
): Promise<void> {
  for (let tries = 0;; tries++) {
    try {
      await bus.publish(topic, command, payload);
      return;
    } catch (error) {
      if (tries > retries) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

Deno.test("redis bus: a broker killed mid-stream and restarted is reconnected to; the lost history is a gap, then delivery goes on", async () => {
  const broker = await startRedis();
  const [a, b] = await Promise.all([
    nodeRedisBus(broker.url, { retryMs: 50 }),
    nodeRedisBus(broker.url, { retryMs: 50 }),
  ]);
  try {
    const seen = await fiveDelivered(a.bus, b.bus);
    const before = seen.messages[0]!.epoch;
    await broker.kill(); // no persistence: the streams are gone
    await broker.restart();
    // The publisher's client reconnects by itself; retry until it has.
    for (let n = 6; n <= 8; n++) await publishRetrying(a.bus, "t", "c", String(n), 100);
    await seen.until(() => seen.messages.length === 8);
    assert.deepEqual(seen.messages.map((m) => m.payload), ["1", "2", "3", "4", "5", "6", "7", "8"]);
    const after = seen.messages[5]!.epoch;
    assert.notEqual(after, before, "a new epoch after the history was lost");
    assert.deepEqual(seen.gaps.map((g) => g.topic), ["t"], "the loss is reported, once");
    assert.ok(seen.health.includes("down") && seen.health.at(-1) === "up", seen.health.join());
  } finally {
    await a.close();
    await b.close();
    await broker.stop();
  }
});

Deno.test("nats bus: a broker killed mid-stream and restarted keeps its stream; delivery goes on without a gap", async () => {
  const broker = await startNats();
  const [a, b] = await Promise.all([natsBus(broker.url), natsBus(broker.url)]);
  try {
    const seen = await fiveDelivered(a.bus, b.bus);
    await broker.kill();
    await broker.restart();
    for (let n = 6; n <= 8; n++) await publishRetrying(a.bus, "t", "c", String(n), 200);
    await seen.until(() => seen.messages.length >= 8, 20_000);
    assert.deepEqual(seen.messages.map((m) => m.payload), ["1", "2", "3", "4", "5", "6", "7", "8"]);
    assert.deepEqual(seen.gaps, []);
    const replay = await a.bus.history("t", seen.messages[1]!);
    assert.deepEqual(replay.messages.map((m) => m.payload), ["3", "4", "5", "6", "7", "8"]);
    assert.equal(replay.complete, true);
  } finally {
    await a.close();
    await b.close();
    await broker.stop();
  }
});
