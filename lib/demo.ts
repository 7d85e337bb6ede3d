/**
 * The demo API and its handlers: what `wsrpc serve` and `deno task demo`
 * run, and a worked example of a server. Commands, prefix `demo`:
 *
 * | request | response payload |
 * |---|---|
 * | `demo-ping-request` `{"timestamp"}` | `{"origintimestamp","timestamp"}` (the protocol ping) |
 * | `demo-echo-request` any | the payload unchanged |
 * | `demo-notify-request` `{"count": n}` | `{"count": n}`, then n pushes `demo-event-notification` `{"seq": i}` |
 * | `demo-fail-request` any | `{"error": {...}}` (a request error) |
 * | `demo-sleep-request` `{"ms": n}` | `{"ms": n}` after n ms (to show out-of-order answers) |
 *
 * @example
 * ```ts ignore
 * import { Server } from "@wsrpc/protocol";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 * import { createHandler } from "@wsrpc/protocol/deno";
 *
 * Deno.serve({ port: 8080 }, createHandler(new Server(demoAPI, { handlers: demoHandlers })));
 * ```
 *
 * @module
 */

import { type API, defineAPI, type Unchecked, unchecked } from "./api.ts";
import { requestErrorf } from "./errors.ts";
import type { PingRequest, PingResponse } from "./message.ts";
import type { Handlers } from "./server.ts";

/**
 * The demo API's definition: command name to payload type.
 *
 * @example
 * ```ts
 * import type { DemoDefinition } from "@wsrpc/protocol/demo";
 * import assert from "node:assert/strict";
 *
 * const commands: (keyof DemoDefinition)[] = ["demo-ping-request", "demo-echo-request"];
 * assert.equal(commands.length, 2);
 * ```
 */
export type DemoDefinition = {
  "demo-ping-request": Unchecked<PingRequest>;
  "demo-ping-response": Unchecked<PingResponse>;
  "demo-echo-request": Unchecked<unknown>;
  "demo-echo-response": Unchecked<unknown>;
  "demo-notify-request": Unchecked<{ count: number }>;
  "demo-notify-response": Unchecked<{ count: number }>;
  "demo-event-notification": Unchecked<{ seq: number }>;
  "demo-fail-request": Unchecked<unknown>;
  "demo-fail-response": Unchecked<{ error?: unknown }>;
  "demo-sleep-request": Unchecked<{ ms: number }>;
  "demo-sleep-response": Unchecked<{ ms: number }>;
};

/**
 * The demo API.
 *
 * @example
 * ```ts
 * import { demoAPI } from "@wsrpc/protocol/demo";
 * import assert from "node:assert/strict";
 *
 * assert.ok(demoAPI.has("demo-ping-request"));
 * ```
 */
export const demoAPI: API<DemoDefinition> = defineAPI({
  "demo-ping-request": unchecked<PingRequest>(),
  "demo-ping-response": unchecked<PingResponse>(),
  "demo-echo-request": unchecked<unknown>(),
  "demo-echo-response": unchecked<unknown>(),
  "demo-notify-request": unchecked<{ count: number }>(),
  "demo-notify-response": unchecked<{ count: number }>(),
  "demo-event-notification": unchecked<{ seq: number }>(),
  "demo-fail-request": unchecked<unknown>(),
  "demo-fail-response": unchecked<{ error?: unknown }>(),
  "demo-sleep-request": unchecked<{ ms: number }>(),
  "demo-sleep-response": unchecked<{ ms: number }>(),
});

/** Largest `count` for `demo-notify-request` and `ms` for `demo-sleep-request`. */
const MAX_NOTIFY = 10_000;
const MAX_SLEEP_MS = 60_000;

/**
 * The demo API's handlers.
 *
 * @example
 * ```ts
 * import { demoHandlers } from "@wsrpc/protocol/demo";
 * import assert from "node:assert/strict";
 *
 * assert.equal(typeof demoHandlers["demo-echo-request"], "function");
 * ```
 */
export const demoHandlers: Handlers<API<DemoDefinition>> = {
  "demo-ping-request": (payload) => ({
    origintimestamp: payload?.timestamp ?? 0,
    timestamp: Math.floor(Date.now() / 1000),
  }),
  "demo-echo-request": (payload) => payload,
  "demo-notify-request": async (payload, { session }) => {
    const count = payload?.count;
    if (!Number.isInteger(count) || count < 0 || count > MAX_NOTIFY) {
      throw requestErrorf("count must be an integer from 0 to %d", MAX_NOTIFY);
    }
    // Respond first, then push: the response is written in this turn of the
    // event loop, the pushes in a later one. Stop as soon as the session
    // ends: a push to it rejects at once, and its signal is aborted.
    setTimeout(async () => {
      for (let seq = 1; seq <= count && !session.signal.aborted; seq++) {
        try {
          await session.push("demo-event-notification", { seq });
        } catch {
          return; // the session has ended: nobody to push to
        }
      }
    }, 0);
    return await Promise.resolve({ count });
  },
  "demo-fail-request": () => ({ error: requestErrorf("demo failure, as requested") }),
  "demo-sleep-request": async (payload, { signal }) => {
    const ms = payload?.ms;
    if (typeof ms !== "number" || !(ms >= 0) || ms > MAX_SLEEP_MS) {
      throw requestErrorf("ms must be a number from 0 to %d", MAX_SLEEP_MS);
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(signal.reason);
      }, { once: true });
    });
    return { ms };
  },
};
