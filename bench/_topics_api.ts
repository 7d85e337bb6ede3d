/**
 * The API of the fan-out benchmark (`deno task bench:topics`): subscribe the
 * session to a topic, publish to one, and the push every subscriber gets.
 * The payload carries `t`, the publisher's clock in epoch milliseconds
 * (`performance.timeOrigin + performance.now()`), for the latency.
 *
 * @module
 */
import { defineAPI, unchecked } from "../mod.ts";

/** The fan-out benchmark's commands. */
export const topicsAPI = defineAPI({
  "bench-ping-request": unchecked<{ timestamp: number }>(),
  "bench-ping-response": unchecked<{ origintimestamp: number; timestamp: number }>(),
  "bench-watch-request": unchecked<{ topic: string }>(),
  "bench-watch-response": unchecked<null>(),
  "bench-publish-request": unchecked<
    { topic: string; t: number; n: number; data: string }
  >(),
  "bench-publish-response": unchecked<null>(),
  "bench-event-notification": unchecked<
    { t: number; n: number; data: string }
  >(),
});

/** The payload's filler: 64 bytes, so that a push is about 140 bytes on the wire. */
export const DATA = "x".repeat(64);
