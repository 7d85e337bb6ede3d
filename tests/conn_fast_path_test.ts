// The fast paths added for `deno task bench` (bench/): `Conn.call` online
// shares one timer among its calls' timeouts. Timeouts must still fire on
// time, per call, whatever the order of their deadlines. (The server's
// timer-free synchronous handlers are tested in router_test.ts.)
import assert from "node:assert/strict";
import { Conn } from "../mod.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import { startServer } from "./_server.ts";

Deno.test("Conn.call: each call times out at its own deadline under one shared timer", async () => {
  await using server = startServer(demoAPI, { handlers: demoHandlers });
  await using conn = new Conn(server.url, { api: demoAPI, callTimeoutMs: 5_000 });
  await conn.connect();
  const t0 = performance.now();
  const settled = (p: Promise<unknown>) =>
    p.then(
      (value) => ({ ok: true, value, ms: performance.now() - t0 }),
      (error) => ({ ok: false, error, ms: performance.now() - t0 }),
    );
  // Long deadline first, then shorter ones: the timer must move earlier. The
  // two short deadlines are far apart so that a loaded machine cannot expire
  // both in one sweep, where their settle order would not be defined.
  const long = settled(conn.call("demo-sleep-request", { ms: 400 }, { timeoutMs: 3_000 }));
  const short = settled(conn.call("demo-sleep-request", { ms: 2_000 }, { timeoutMs: 1_000 }));
  const shorter = settled(conn.call("demo-sleep-request", { ms: 2_000 }, { timeoutMs: 60 }));
  const quick = settled(conn.call("demo-ping-request", { timestamp: 7 }));
  const none = settled(conn.call("demo-sleep-request", { ms: 150 }, { timeoutMs: 0 }));
  const [l, s, ss, q, n] = await Promise.all([long, short, shorter, quick, none]);
  assert.equal(q.ok, true);
  assert.deepEqual((q as { value: { origintimestamp: number } }).value.origintimestamp, 7);
  for (const [r, ms] of [[ss, 60], [s, 1_000]] as const) {
    assert.equal(r.ok, false);
    const error = (r as { error: Error }).error;
    assert.equal(error.name, "TimeoutError");
    assert.match(error.message, new RegExp(`timed out after ${ms} ms`));
    assert.ok(r.ms >= ms - 5 && r.ms < ms + 300, `timed out at ${r.ms} ms, deadline ${ms}`);
  }
  assert.ok(ss.ms < 1_000, `the earlier deadline fired at ${ss.ms} ms, not held to the later one`);
  assert.ok(ss.ms <= s.ms, "the earlier deadline fired first");
  assert.equal(l.ok, true, "a call with a later deadline is not swept early");
  assert.equal(n.ok, true, "timeoutMs 0: no timeout");
  assert.equal(conn.pendingCalls, 0);
  // Still usable after the sweeps, and no timer is left behind (sanitizers).
  assert.equal((await conn.call("demo-ping-request", { timestamp: 8 })).origintimestamp, 8);
});

Deno.test("Conn.call: close() rejects pending calls and stops the shared timer", async () => {
  await using server = startServer(demoAPI, { handlers: demoHandlers });
  const conn = new Conn(server.url, { api: demoAPI });
  await conn.connect();
  const pending = conn.call("demo-sleep-request", { ms: 5_000 }, { timeoutMs: 10_000 });
  const rejected = assert.rejects(
    pending,
    (error: Error) => error.name === "ConnectionClosedError",
  );
  await new Promise((resolve) => setTimeout(resolve, 20));
  await conn.close(1000, "bye");
  await rejected;
  assert.equal(conn.pendingCalls, 0);
});
