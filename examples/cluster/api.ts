/**
 * The cluster example's API: watch a topic, publish to one, and a count of
 * this instance's sessions (for the tests).
 *
 * @module
 */
import { defineAPI, type Handlers, type Server, unchecked } from "../../mod.ts";

/** The commands the cluster instances speak. */
export const clusterAPI = defineAPI({
  "cluster-ping-request": unchecked<{ timestamp: number }>(),
  "cluster-ping-response": unchecked<
    { origintimestamp: number; timestamp: number }
  >(),
  "cluster-watch-request": unchecked<{ topic: string }>(),
  "cluster-watch-response": unchecked<null>(),
  "cluster-publish-request": unchecked<
    { topic: string; n: number; blob?: string }
  >(),
  "cluster-publish-response": unchecked<{ seq: number }>(),
  "cluster-stats-request": unchecked<null>(),
  "cluster-stats-response": unchecked<{ sessions: number; instance: string }>(),
  "cluster-event-notification": unchecked<
    { n: number; from: string; blob?: string }
  >(),
});

/** The handlers of one instance named `instance`, publishing through `server`. */
export function clusterHandlers(
  instance: string,
  server: () => Server<typeof clusterAPI>,
): Handlers<typeof clusterAPI> {
  return {
    "cluster-ping-request": ({ timestamp }) => ({
      origintimestamp: timestamp,
      timestamp: Math.floor(Date.now() / 1000),
    }),
    "cluster-watch-request": async ({ topic }, { session }) => {
      await session.subscribe(topic);
      return null;
    },
    "cluster-publish-request": async ({ topic, n, blob }) => {
      const payload = blob === undefined ? { n, from: instance } : { n, from: instance, blob };
      const { seq } = await server().publish(
        topic,
        "cluster-event-notification",
        payload,
      );
      return { seq };
    },
    "cluster-stats-request": () => ({
      sessions: server().sessions.size,
      instance,
    }),
  };
}
