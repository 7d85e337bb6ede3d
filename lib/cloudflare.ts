/**
 * The Cloudflare adapter: serve a {@linkcode Server} from a plain Worker
 * ({@linkcode createHandler}: `WebSocketPair` and `accept()`) or from a
 * Durable Object on the WebSocket Hibernation API
 * ({@linkcode createDurableObjectHandler}). Both run the same server core as
 * Deno and Bun: the same admission (426, 421, 403, 503, `path`, `fallback`),
 * first ping with id "0", limits, close codes and error redaction.
 *
 * workerd has no `bufferedAmount`: the adapter reports 0, so responses and
 * pushes go straight to workerd, which queues them; each is bounded by the
 * server's limits (a request by `readLimit`, 512 KiB by default; Cloudflare's
 * own message size limit applies on top), and `writeHighWaterMark`/`writeTimeoutMs`
 * do not apply.
 *
 * In a Durable Object, each socket's session lives in its hibernation
 * attachment (the upgrade URL, the client address, whether it was admitted,
 * the authenticated peer, the handshake's progress, the requests in
 * flight, the accepted extensions, the topics it is subscribed to), so an
 * object woken from hibernation serves every socket on without a new
 * handshake or first ping, and `server.publish` reaches every subscriber of
 * the object, whichever life subscribed it; an ed25519 handshake survives a
 * hibernation between its messages. An event that starts a request keeps
 * the object awake until the request is answered.
 *
 * Workers' types are described by small local interfaces, so this module
 * type-checks under Deno without `@cloudflare/workers-types`.
 *
 * @example A Worker and a Durable Object
 * ```ts ignore
 * import { Server } from "@wsrpc/protocol";
 * import { createDurableObjectHandler, createHandler } from "@wsrpc/protocol/cloudflare";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 *
 * const server = new Server(demoAPI, { handlers: demoHandlers });
 * export default { fetch: createHandler(server, { path: "/v1/ws" }) };
 *
 * export class Room {
 *   #wsrpc;
 *   constructor(ctx: DurableObjectState) {
 *     this.#wsrpc = createDurableObjectHandler(new Server(demoAPI, { handlers: demoHandlers }), ctx);
 *   }
 *   fetch(request: Request) { return this.#wsrpc.fetch(request); }
 *   webSocketMessage(ws: WebSocket, message: string | ArrayBuffer) { return this.#wsrpc.webSocketMessage(ws, message); }
 *   webSocketClose(ws: WebSocket, code: number, reason: string) { this.#wsrpc.webSocketClose(ws, code, reason); }
 *   webSocketError(ws: WebSocket) { this.#wsrpc.webSocketError(ws); }
 * }
 * ```
 *
 * @module
 */

import type { API } from "./api.ts";
import type { Server } from "./server.ts";
import { type AdapterOptions, routeRequest } from "./_route.ts";
import { CloudflareSocket } from "./_cloudflare_socket.ts";
import type { CloudflareWebSocket } from "./_cloudflare_types.ts";
import { switching, webSocketPair } from "./_cloudflare_upgrade.ts";

export type { AdapterOptions, CloudflareWebSocket };
export {
  createDurableObjectHandler,
  type DurableObjectHandler,
  type DurableObjectOptions,
  type DurableObjectStateLike,
} from "./_cloudflare_durable.ts";

/**
 * Makes a fetch handler for a plain Worker: checks and upgrades requests
 * with a `WebSocketPair`, accepts the server end and serves it until it
 * closes (the Worker stays alive while the socket is open).
 *
 * @param server The server.
 * @param options `path` to serve on and a `fallback` for other requests.
 * @returns The Worker's `fetch`.
 *
 * @example Refusals, before any socket is made
 * ```ts
 * import { Server } from "@wsrpc/protocol";
 * import { createHandler } from "@wsrpc/protocol/cloudflare";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 * import assert from "node:assert/strict";
 *
 * const fetch = createHandler(new Server(demoAPI, { handlers: demoHandlers }), { path: "/v1/ws" });
 * assert.equal((await fetch(new Request("http://localhost/v1/ws"))).status, 426); // not an upgrade
 * assert.equal((await fetch(new Request("http://localhost/other"))).status, 404);
 * ```
 */
export function createHandler<A extends API>(
  server: Server<A>,
  options: AdapterOptions = {},
): (request: Request) => Response | Promise<Response> {
  return (request) => {
    const refusal = routeRequest(request, options) ?? server.checkRequest(request);
    if (refusal !== undefined) return refusal;
    const [client, ws] = webSocketPair();
    ws.accept!();
    const remoteAddr = request.headers.get("cf-connecting-ip");
    void server.serveSocket(
      CloudflareSocket.listening(ws),
      remoteAddr === null ? { request } : { request, remoteAddr },
    );
    return switching(client, server.selectProtocol(request));
  };
}
