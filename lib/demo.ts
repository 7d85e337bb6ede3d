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
 * import { demoAPI, type DemoDefinition } from "@wsrpc/protocol/demo";
 * import assert from "node:assert/strict";
 *
 * const commands: (keyof DemoDefinition)[] = ["demo-ping-request", "demo-echo-request"];
 * for (const command of commands) assert.ok(demoAPI.has(command));
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
 * @example Serving the demo API over an in-memory socket
 * ```ts
 * import { Server } from "@wsrpc/protocol";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 * import assert from "node:assert/strict";
 *
 * // An in-memory stand-in for the client's end of the socket.
 * class FakeSocket extends EventTarget {
 *   readyState = 1; bufferedAmount = 0; binaryType = ""; sent: string[] = [];
 *   send(frame: string): void { this.sent.push(frame); }
 *   close(code = 1000, reason = ""): void {
 *     this.readyState = 3;
 *     this.dispatchEvent(new CloseEvent("close", { code, reason }));
 *   }
 *   receive(message: unknown): void {
 *     this.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(message) }));
 *   }
 * }
 * const socket = new FakeSocket();
 * const served = new Server(demoAPI, { handlers: demoHandlers }).serveSocket(socket);
 * socket.receive({ header: { command: "demo-echo-request", id: "1" }, payload: { any: ["thing"] } });
 * socket.receive({ header: { command: "demo-fail-request", id: "2" }, payload: null });
 * socket.receive({ header: { command: "demo-notify-request", id: "3" }, payload: { count: 1 } });
 * await new Promise((resolve) => setTimeout(resolve, 10)); // let the server answer
 * const [, echo, fail, notify, event] = socket.sent.map((frame) => JSON.parse(frame));
 * assert.deepEqual(echo.payload, { any: ["thing"] });
 * assert.equal(fail.payload.error.message, "demo failure, as requested");
 * assert.deepEqual(notify.payload, { count: 1 });
 * // After the response, the pushes it asked for (no id).
 * assert.deepEqual(event, { header: { command: "demo-event-notification" }, payload: { seq: 1 } });
 * socket.close();
 * await served;
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
