import assert from "node:assert/strict";
import { deadline, longTimeout, MAX_TIMER_DELAY, type Timers } from "../lib/_deadline.ts";

/** A fake clock: `advance` runs the timers that come due, in order. */
function fakeTimers() {
  let now = 0;
  let next = 0;
  const timers = new Map<number, { at: number; callback: () => void }>();
  const delays: number[] = [];
  const api: Timers = {
    setTimeout(callback, ms) {
      delays.push(ms);
      timers.set(++next, { at: now + ms, callback });
      return next;
    },
    clearTimeout: (id) => void timers.delete(id as number),
    now: () => now,
  };
  const advance = (ms: number) => {
    const end = now + ms;
    for (;;) {
      const due = [...timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      timers.delete(due[0]);
      now = due[1].at;
      due[1].callback();
    }
    now = end;
  };
  return { api, advance, delays, pending: () => timers.size };
}

Deno.test("longTimeout() chains timers past 2^31 - 1 ms instead of firing at once", () => {
  const clock = fakeTimers();
  let fired = 0;
  longTimeout(() => fired++, 3e9, clock.api);
  assert.deepEqual(clock.delays, [MAX_TIMER_DELAY], "no delay over the limit reaches setTimeout");
  clock.advance(MAX_TIMER_DELAY);
  assert.equal(fired, 0);
  assert.deepEqual(clock.delays, [MAX_TIMER_DELAY, 3e9 - MAX_TIMER_DELAY]);
  clock.advance(3e9 - MAX_TIMER_DELAY - 1);
  assert.equal(fired, 0);
  clock.advance(1);
  assert.equal(fired, 1);
  assert.equal(clock.pending(), 0);
});

Deno.test("longTimeout() uses one timer for short delays and cancels a chain", () => {
  const clock = fakeTimers();
  let fired = 0;
  longTimeout(() => fired++, 100, clock.api);
  assert.deepEqual(clock.delays, [100]);
  clock.advance(100);
  assert.equal(fired, 1);
  const cancel = longTimeout(() => fired++, 1e10, clock.api);
  clock.advance(MAX_TIMER_DELAY * 2);
  cancel();
  assert.equal(clock.pending(), 0);
  clock.advance(1e10);
  assert.equal(fired, 1);
});

Deno.test("deadline() of 3e9 ms does not abort at once", async () => {
  const timeout = deadline(3e9, "Work");
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(timeout.signal.aborted, false);
  timeout.clear();
});
