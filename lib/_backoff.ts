/**
 * Reconnect delays: exponential backoff with jitter, as a pure function (std's
 * `exponentialBackoffWithJitter` in `async/_util.ts`), so it is tested without
 * sockets or clocks.
 */

import type { ReconnectOptions } from "./conn_options.ts";

/** The defaults of `ReconnectOptions`. */
export const DEFAULT_BACKOFF: Readonly<Required<ReconnectOptions>> = Object.freeze({
  initialDelayMs: 250,
  maxDelayMs: 30_000,
  factor: 2,
  jitter: 0.5,
  maxAttempts: Infinity,
});

/**
 * The delay before attempt `attempt` (0 for the first after a drop):
 * `min(maxDelayMs, initialDelayMs * factor ** attempt)`, of which the fraction
 * `jitter` is drawn at random, so that the clients of a restarted server do
 * not return in step.
 *
 * @param random A number in [0, 1); tests pass a fixed one.
 */
export function backoffDelay(
  attempt: number,
  options: Readonly<Required<ReconnectOptions>>,
  random: () => number = Math.random,
): number {
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** attempt);
  return base * (1 - options.jitter * random());
}
