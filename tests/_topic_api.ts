// The API of the topic tests: a watch request that subscribes, and a notification.
import { defineAPI, unchecked } from "../mod.ts";

export const topicAPI = defineAPI({
  "t-ping-request": unchecked<{ timestamp: number }>(),
  "t-ping-response": unchecked<{ origintimestamp: number; timestamp: number }>(),
  "t-watch-request": unchecked<{ topic: string }>(),
  "t-watch-response": unchecked<null>(),
  "t-unwatch-request": unchecked<{ topic: string }>(),
  "t-unwatch-response": unchecked<null>(),
  "t-event-notification": unchecked<{ n: number; blob?: string }>(),
});
