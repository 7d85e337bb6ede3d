/**
 * Upgrading a request on Workers: a `WebSocketPair`, the 101 response, and
 * finding the session `serveSocket` just started.
 *
 * @module
 */

import type { API } from "./api.ts";
import type { Server, Session } from "./server.ts";
import type { CloudflareWebSocket } from "./_cloudflare_types.ts";

/** A new `WebSocketPair`'s two ends (a Workers global). */
export function webSocketPair(): [CloudflareWebSocket, CloudflareWebSocket] {
  const Pair = (globalThis as { WebSocketPair?: new () => Record<0 | 1, CloudflareWebSocket> })
    .WebSocketPair;
  if (Pair === undefined) throw new TypeError("WebSocketPair is not defined: not on Workers");
  const pair = new Pair();
  return [pair[0], pair[1]];
}

/** The 101 response that hands `client` to the runtime. */
export function switching(client: CloudflareWebSocket, protocol: string | undefined): Response {
  const init = { status: 101, webSocket: client } as ResponseInit;
  if (protocol !== undefined) init.headers = { "sec-websocket-protocol": protocol };
  return new Response(null, init);
}

/** The newest session: the one `serveSocket` just started. */
export function newestSession<A extends API>(server: Server<A>): Session<A> | undefined {
  let last: Session<A> | undefined;
  for (const session of server.sessions.values()) last = session;
  return last;
}
