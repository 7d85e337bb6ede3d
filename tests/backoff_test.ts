import assert from "node:assert/strict";
import { backoffDelay, DEFAULT_BACKOFF } from "../lib/_backoff.ts";

Deno.test("backoffDelay() grows by factor from initialDelayMs up to maxDelayMs", () => {
  const options = { ...DEFAULT_BACKOFF, jitter: 0 };
  const cases: [attempt: number, delay: number][] = [
    [0, 250],
    [1, 500],
    [2, 1_000],
    [6, 16_000],
    [7, 30_000], // 32 000 capped
    [50, 30_000],
    [2_000, 30_000], // factor ** attempt is Infinity: still capped
  ];
  for (const [attempt, delay] of cases) {
    assert.equal(backoffDelay(attempt, options, () => 0.99), delay, `attempt ${attempt}`);
  }
});

Deno.test("backoffDelay() draws the jitter fraction of each delay at random", () => {
  const options = { ...DEFAULT_BACKOFF, initialDelayMs: 1_000 };
  const cases: [jitter: number, random: number, delay: number][] = [
    [0.5, 0, 1_000], // no reduction
    [0.5, 0.5, 750],
    [0.5, 0.998, 501], // at most half off
    [1, 0.75, 250],
    [0, 0.75, 1_000],
  ];
  for (const [jitter, random, delay] of cases) {
    assert.equal(
      backoffDelay(0, { ...options, jitter }, () => random),
      delay,
      `${jitter} ${random}`,
    );
  }
});

Deno.test("backoffDelay() uses Math.random by default, within [base * (1 - jitter), base]", () => {
  for (let i = 0; i < 100; i++) {
    const delay = backoffDelay(3, DEFAULT_BACKOFF); // base 2 000, jitter 0.5
    assert.ok(delay > 1_000 && delay <= 2_000, String(delay));
  }
});

Deno.test("DEFAULT_BACKOFF holds the documented ReconnectOptions defaults", () => {
  assert.deepEqual(DEFAULT_BACKOFF, {
    initialDelayMs: 250,
    maxDelayMs: 30_000,
    factor: 2,
    jitter: 0.5,
    maxAttempts: Infinity,
  });
  assert.ok(Object.isFrozen(DEFAULT_BACKOFF));
});
