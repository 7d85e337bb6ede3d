/**
 * The Deno adapter: mount a {@linkcode Server} in `Deno.serve`, or in any
 * fetch-style handler that runs on Deno (Deno Deploy, Supabase Edge
 * Functions).
 *
 * Cross-origin stance: browsers may open WebSockets to any origin, so the
 * server checks `Origin` (same-origin by default, or `ServerOptions.origins`);
 * requests without `Origin` (non-browser clients) are accepted.
 *
 * @example
 * ```ts ignore
 * import { defineAPI, Server, unchecked, type PingRequest, type PingResponse } from "@wsrpc/protocol";
 * import { createHandler } from "@wsrpc/protocol/deno";
 *
 * const api = defineAPI({
 *   "demo-ping-request": unchecked<PingRequest>(),
 *   "demo-ping-response": unchecked<PingResponse>(),
 * });
 * const server = new Server(api, {
 *   handlers: { "demo-ping-request": ({ timestamp }) => ({ origintimestamp: timestamp, timestamp: 0 }) },
 * });
 * Deno.serve({ port: 8080 }, createHandler(server, { path: "/v1/ws" }));
 * ```
 *
 * @module
 */

import type { API } from "./api.ts";
import type { Server } from "./server.ts";
import { routeRequest } from "./_route.ts";

/**
 * Options for {@linkcode createHandler}.
 *
 * @example
 * ```ts
 * import { Server } from "@wsrpc/protocol";
 * import { createHandler, type HandlerOptions } from "@wsrpc/protocol/deno";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 * import assert from "node:assert/strict";
 *
 * const server = new Server(demoAPI, { handlers: demoHandlers });
 * const options: HandlerOptions = { path: "/v1/ws" };
 * const handle = createHandler(server, options);
 * assert.equal((await handle(new Request("http://localhost/other"))).status, 404); // not the path
 * assert.equal((await handle(new Request("http://localhost/v1/ws"))).status, 426); // not an upgrade
 * const withFallback = createHandler(server, { ...options, fallback: () => new Response("hello") });
 * assert.equal(await (await withFallback(new Request("http://localhost/other"))).text(), "hello");
 * ```
 */
export interface HandlerOptions {
  /** Only this path upgrades; other paths get 404. By default every path upgrades. */
  path?: string;
  /** Answers requests that are not WebSocket upgrades (by default 426). */
  fallback?: (request: Request) => Response | Promise<Response>;
}

/**
 * Upgrades one request to a WebSocket served by `server`, or answers it with
 * the server's refusal (426, 403, 503).
 *
 * @param server The server.
 * @param request The HTTP request.
 * @param info `Deno.serve`'s second handler argument, for the client address.
 * @returns The response to return from the handler.
 *
 * @example
 * ```ts ignore
 * import { upgradeWebSocket } from "@wsrpc/protocol/deno";
 * import { server } from "./my_server.ts";
 *
 * Deno.serve((req, info) => new URL(req.url).pathname === "/v1/ws"
 *   ? upgradeWebSocket(server, req, info)
 *   : new Response("hello"));
 * ```
 */
export function upgradeWebSocket<A extends API>(
  server: Server<A>,
  request: Request,
  info?: Deno.ServeHandlerInfo,
): Response {
  const refusal = server.checkRequest(request);
  if (refusal !== undefined) return refusal;
  // Read the address first: after the upgrade, Deno no longer exposes it.
  const addr = info?.remoteAddr as Deno.NetAddr | undefined;
  const { socket, response } = Deno.upgradeWebSocket(request);
  void server.serveSocket(socket, {
    request,
    ...(addr?.hostname === undefined ? {} : { remoteAddr: `${addr.hostname}:${addr.port}` }),
  });
  return response;
}

/**
 * Makes a `Deno.serve` handler that upgrades requests to `server`.
 *
 * @param server The server.
 * @param options `path` to serve on and a `fallback` for other requests.
 * @returns A handler for `Deno.serve` (or `export default { fetch }`).
 *
 * @example
 * ```ts ignore
 * import { createHandler } from "@wsrpc/protocol/deno";
 * import { server } from "./my_server.ts";
 *
 * Deno.serve({ port: 8080 }, createHandler(server, { path: "/v1/ws" }));
 * ```
 */
export function createHandler<A extends API>(
  server: Server<A>,
  options: HandlerOptions = {},
): (request: Request, info?: Deno.ServeHandlerInfo) => Response | Promise<Response> {
  return (request, info) =>
    routeRequest(request, options) ?? upgradeWebSocket(server, request, info);
}
