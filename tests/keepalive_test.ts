import assert from "node:assert/strict";
import {
  DEFAULT_KEEPALIVE_INTERVAL_MS,
  DEFAULT_KEEPALIVE_TIMEOUT_MS,
  Keepalive,
  pingCommandOf,
} from "../lib/_keepalive.ts";
import { FakeTimers } from "./_fake_timers.ts";

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A keepalive whose pings the test answers by hand. */
function harness(options: { intervalMs?: number; timeoutMs?: number } = {}) {
  const timers = new FakeTimers();
  const pings: { timeoutMs: number; answer(): void; fail(error: Error): void }[] = [];
  let expired = 0;
  const keepalive = new Keepalive(options, {
    ping: (timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        pings.push({ timeoutMs, answer: () => resolve(), fail: reject });
      }),
    expire: () => expired++,
  }, timers);
  return { timers, pings, keepalive, expired: () => expired };
}

const timeoutError = () => new DOMException("Call timed out", "TimeoutError");

Deno.test("pingCommandOf() takes the option, else the API's -ping-request, else throws", () => {
  assert.equal(pingCommandOf(["a-ping-request"], "b-ping-request"), "b-ping-request");
  assert.equal(pingCommandOf(["x-echo-request", "x-ping-request"]), "x-ping-request");
  assert.throws(
    () => pingCommandOf(["x-echo-request"]),
    (e) => e instanceof TypeError && /no ping command \(set keepalive.command\)/.test(e.message),
  );
});

Deno.test("Keepalive pings every interval with its timeout (defaults 30 s and 10 s)", async () => {
  assert.equal(DEFAULT_KEEPALIVE_INTERVAL_MS, 30_000);
  assert.equal(DEFAULT_KEEPALIVE_TIMEOUT_MS, 10_000);
  const { timers, pings, keepalive } = harness();
  keepalive.start();
  timers.advance(29_999);
  assert.equal(pings.length, 0);
  timers.advance(1);
  assert.equal(pings.length, 1);
  assert.equal(pings[0]!.timeoutMs, 10_000);
  timers.advance(40);
  pings[0]!.answer();
  await flush();
  assert.equal(keepalive.rtt, 40);
  timers.advance(30_000);
  assert.equal(pings.length, 2, "the next ping an interval after the answer");
  keepalive.stop();
});

Deno.test("Keepalive expires the connection when a ping times out, and stops", async () => {
  const { timers, pings, keepalive, expired } = harness({ intervalMs: 20, timeoutMs: 50 });
  keepalive.start();
  timers.advance(20);
  assert.equal(pings[0]!.timeoutMs, 50);
  pings[0]!.fail(timeoutError());
  await flush();
  assert.equal(expired(), 1);
  timers.advance(1_000);
  assert.equal(pings.length, 1, "no ping after expiry");
});

Deno.test("Keepalive pings on after a ping fails otherwise (not a timeout)", async () => {
  const { timers, pings, keepalive, expired } = harness({ intervalMs: 20 });
  keepalive.start();
  timers.advance(20);
  pings[0]!.fail(new Error("error payload"));
  await flush();
  assert.equal(expired(), 0);
  assert.equal(keepalive.rtt, undefined);
  timers.advance(20);
  assert.equal(pings.length, 2);
  keepalive.stop();
});

Deno.test("Keepalive.stop() cancels the next ping and ignores one in flight", async () => {
  const { timers, pings, keepalive, expired } = harness({ intervalMs: 20 });
  keepalive.start();
  timers.advance(20);
  keepalive.stop();
  pings[0]!.fail(timeoutError()); // the old connection's ping times out after the drop
  await flush();
  assert.equal(expired(), 0, "a ping of a stopped run does not expire the next connection");
  timers.advance(1_000);
  assert.equal(pings.length, 1);
  assert.equal(timers.active, 0);
  // A new connection: start() again; rtt is kept across connections.
  keepalive.start();
  timers.advance(20);
  timers.advance(5);
  pings[1]!.answer();
  await flush();
  assert.equal(keepalive.rtt, 5);
  keepalive.stop();
  assert.equal(timers.active, 0);
});
