/**
 * A call that cannot take `Conn.call`'s fast path: made while connecting or
 * reconnecting, or with a caller's signal. It waits for the connection within
 * its own timeout, writes with backpressure, and tells the server (`cancel`)
 * when it is abandoned while the server works on it.
 */

import { abortable, deadline } from "./_deadline.ts";
import type { CallOptions } from "./conn_options.ts";
import type { Link } from "./_link.ts";
import { messageOf } from "./framing.ts";

/**
 * Sends a request on `link` once it is online and waits for its response.
 *
 * @param id The request id; by default the next of the call table's "1", "2", ...
 * @returns The response's payload.
 */
export async function waitingCall(
  link: Link,
  command: string,
  payload: unknown,
  options: CallOptions,
  id: string = link.calls.newID(),
): Promise<unknown> {
  const ms = options.timeoutMs ?? link.options.callTimeoutMs ?? 60_000;
  const timeout = deadline(ms, `Call ${JSON.stringify(command)}`, options.signal);
  try {
    // Online: the request goes out in this turn, in order with the fast path's.
    const ws = link.state === "online" ? link.ws! : await link.waitOnline(timeout.signal);
    const rejectErrors = options.rejectErrors ?? link.options.rejectErrors ?? true;
    const call = link.calls.open(id, command, rejectErrors, 0); // bounded by `timeout`
    link.options.onMessage?.("send", messageOf(command, id, payload));
    await ws.writeText(link.extensions.encode(command, id, payload, options), timeout.signal);
    try {
      return await abortable(call.promise, timeout.signal);
    } catch (error) {
      // Aborted or timed out while the server works on it: tell it (`cancel`).
      if (timeout.signal.aborted && link.calls.holds(call)) link.cancel(ws, id);
      throw error;
    }
  } finally {
    timeout.clear();
    link.calls.forget(id);
  }
}
