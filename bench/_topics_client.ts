/**
 * A wsrpc client process of the fan-out benchmark:
 * `deno run -A bench/_topics_client.ts` (or `bun`). The protocol on stdin and
 * stdout is bench/_topics_core.mjs's; each subscriber is one `Conn` reading
 * its pushes one after another, as an application would.
 *
 * @module
 */
import { Conn } from "../mod.ts";
import { topicsAPI } from "./_topics_api.ts";
import { runClient } from "./_topics_core.mjs";

type Event = { t: number; n: number; data: string };

await runClient(async (url: string, onEvent: (e: Event) => void) => {
  const conn = new Conn(url, {
    api: topicsAPI,
    pushQueueSize: 1 << 20,
    callTimeoutMs: 60_000,
  });
  await conn.connect();
  void (async () => {
    for await (const push of conn) {
      if (push.command === "bench-event-notification") {
        onEvent(push.payload as Event);
      }
    }
  })().catch(() => {});
  return {
    subscribe: (topic: string) => conn.call("bench-watch-request", { topic }),
    publish: (topic: string, event: Event) => {
      conn.call("bench-publish-request", { topic, ...event }).catch(() => {});
    },
    close: () => conn.close(),
  };
});
