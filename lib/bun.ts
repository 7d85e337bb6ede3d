/**
 * The Bun adapter: mount a {@linkcode Server} in `Bun.serve`.
 *
 * Bun delivers WebSocket events at server level, as callbacks on a
 * `ServerWebSocket`, not as events on a `WebSocket`. {@linkcode createHandler}
 * returns the `fetch` and `websocket` options for `Bun.serve`: `fetch` checks
 * and upgrades the request, and the `websocket` callbacks feed a small
 * `WebSocket`-shaped shim per socket (kept with `ws.data`) to the same server
 * core the Deno adapter uses, so behaviour, limits and close codes are the
 * same on both runtimes.
 *
 * Cross-origin stance: browsers may open WebSockets to any origin, so the
 * server checks `Origin` (same-origin by default, or `ServerOptions.origins`);
 * requests without `Origin` (non-browser clients) are accepted.
 *
 * Bun's types are described here by small local interfaces
 * ({@linkcode BunServerWebSocket}, {@linkcode BunServerLike}), so this module
 * type-checks under Deno and needs no `bun-types`.
 *
 * @example
 * ```ts ignore
 * import { Server } from "@wsrpc/protocol";
 * import { createHandler } from "@wsrpc/protocol/bun";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 *
 * const server = new Server(demoAPI, { handlers: demoHandlers });
 * const bun = Bun.serve({ port: 8080, ...createHandler(server, { path: "/v1/ws" }) });
 * // later: await server.shutdown(); bun.stop();
 * ```
 *
 * @module
 */

import type { API } from "./api.ts";
import type { ConnectionInfo, Server } from "./server.ts";
import { type BunServerWebSocket, BunSocket } from "./_bun_socket.ts";
import { type AdapterOptions, routeRequest } from "./_route.ts";

export type { AdapterOptions, BunServerWebSocket };

/**
 * The part of Bun's `Server` (the second argument of `fetch`) that the adapter uses.
 *
 * @example
 * ```ts
 * import { Server } from "@wsrpc/protocol";
 * import { createHandler, type BunServerLike } from "@wsrpc/protocol/bun";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 * import assert from "node:assert/strict";
 *
 * // A Bun server that refuses the upgrade: the handler answers 400.
 * const refusing: BunServerLike = { upgrade: () => false };
 * const { fetch } = createHandler(new Server(demoAPI, { handlers: demoHandlers }));
 * const request = new Request("http://localhost/", {
 *   headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-version": "13",
 *     "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" },
 * });
 * assert.equal((await fetch(request, refusing))?.status, 400);
 * ```
 */
export interface BunServerLike {
  /** Upgrades the request to a WebSocket; false when it is not a valid upgrade. */
  upgrade(request: Request, options?: { data?: unknown; headers?: HeadersInit }): boolean;
  /** The client's address. */
  requestIP?(request: Request): { address: string; port: number } | null;
}

/**
 * What the adapter keeps in `ws.data` for each socket.
 *
 * @example
 * ```ts
 * import { Server } from "@wsrpc/protocol";
 * import { createHandler, type BunServerLike, type BunSocketData } from "@wsrpc/protocol/bun";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 * import assert from "node:assert/strict";
 *
 * // What the handler attaches to the upgrade, for its websocket handlers to read back.
 * let data: BunSocketData | undefined;
 * const bun: BunServerLike = { upgrade: (_req, options) => (data = options?.data as BunSocketData, true) };
 * const { fetch } = createHandler(new Server(demoAPI, { handlers: demoHandlers }));
 * const request = new Request("http://localhost/v1/ws", {
 *   headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-version": "13",
 *     "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" },
 * });
 * assert.equal(await fetch(request, bun), undefined); // upgraded
 * assert.equal(data?.request, request);
 * ```
 */
export interface BunSocketData {
  /** The upgrade request. */
  readonly request: Request;
  /** The client's address, `host:port`, when Bun knows it. */
  readonly remoteAddr?: string;
}

/**
 * The `websocket` option of `Bun.serve` that {@linkcode createHandler} returns.
 *
 * @example
 * ```ts
 * import { Server } from "@wsrpc/protocol";
 * import { createHandler, type BunWebSocketHandler } from "@wsrpc/protocol/bun";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 * import assert from "node:assert/strict";
 *
 * const server = new Server(demoAPI, { handlers: demoHandlers, readLimit: 1 << 20 });
 * const websocket: BunWebSocketHandler = createHandler(server).websocket;
 * assert.equal(websocket.maxPayloadLength, 1 << 20);
 * ```
 */
export interface BunWebSocketHandler {
  /** A socket was upgraded: starts its session. */
  open(ws: BunServerWebSocket): void;
  /** A frame arrived. */
  message(ws: BunServerWebSocket, message: string | Uint8Array): void;
  /** The socket closed. */
  close(ws: BunServerWebSocket, code: number, reason: string): void;
  /** The socket's outgoing buffer drained after backpressure. */
  drain(ws: BunServerWebSocket): void;
  /** Largest incoming frame Bun accepts, in bytes; larger closes with 1009. */
  maxPayloadLength: number;
  /** Whether Bun negotiates permessage-deflate. */
  perMessageDeflate?: boolean;
}

/**
 * `Bun.serve` options that serve a {@linkcode Server}: spread into `Bun.serve({ ... })`.
 *
 * @example
 * ```ts
 * import { Server } from "@wsrpc/protocol";
 * import { createHandler, type BunHandler } from "@wsrpc/protocol/bun";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 * import assert from "node:assert/strict";
 *
 * const handler: BunHandler = createHandler(new Server(demoAPI, { handlers: demoHandlers }));
 * // A plain GET is not an upgrade: 426, before Bun is asked to upgrade.
 * const response = await handler.fetch(new Request("http://localhost/"), { upgrade: () => true });
 * assert.equal(response?.status, 426);
 * ```
 */
export interface BunHandler {
  /** Upgrades requests for the server; answers others (404, 426, 403, 503, or the fallback). */
  fetch(
    request: Request,
    server: BunServerLike,
  ): Response | undefined | Promise<Response | undefined>;
  /** The WebSocket callbacks. */
  websocket: BunWebSocketHandler;
}

/**
 * Options for Bun's {@linkcode createHandler}: the routing both adapters
 * share ({@linkcode AdapterOptions}) and Bun's own frame options.
 *
 * @example
 * ```ts
 * import { Server } from "@wsrpc/protocol";
 * import { createHandler, type BunAdapterOptions } from "@wsrpc/protocol/bun";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 * import assert from "node:assert/strict";
 *
 * const options: BunAdapterOptions = { path: "/v1/ws", perMessageDeflate: true };
 * const { fetch, websocket } = createHandler(new Server(demoAPI, { handlers: demoHandlers }), options);
 * assert.equal((await fetch(new Request("http://localhost/elsewhere"), { upgrade: () => true }))?.status, 404);
 * assert.ok(websocket.perMessageDeflate);
 * ```
 */
export interface BunAdapterOptions extends AdapterOptions {
  /**
   * Largest incoming frame Bun buffers, in bytes. Bun refuses a larger frame
   * itself, before buffering it, and closes with 1009 `Received too big
   * message` (the Deno adapter's reason is `read limited at N bytes`).
   *
   * @default {server.readLimit}
   */
  maxPayloadLength?: number;
  /**
   * Negotiate permessage-deflate when the client offers it (RFC 7692).
   *
   * @default {false}
   */
  perMessageDeflate?: boolean;
}

/**
 * Options for {@linkcode createHandler}.
 *
 * @deprecated Use {@linkcode BunAdapterOptions}.
 */
export type BunHandlerOptions = BunAdapterOptions;

/**
 * Makes the `fetch` and `websocket` options that serve `server` on `Bun.serve`.
 * `fetch` runs the server's upgrade checks (426 not an upgrade, 403 origin
 * refused, 503 shutting down or full) and upgrades; each socket then runs the
 * same session as on Deno (handshake, first ping, requests, limits).
 *
 * Stop with `await server.shutdown()` (closes every session with 1001), then
 * `bunServer.stop()`. Only sockets upgraded by this `fetch` are served by this
 * `websocket`; use one `Bun.serve` per handler.
 *
 * @typeParam A The server's API.
 * @param server The server.
 * @param options `path` to serve on, a `fallback` for other requests, Bun's frame limit.
 * @returns `{ fetch, websocket }` for `Bun.serve`.
 * @throws {RangeError} When `maxPayloadLength` is not a positive integer.
 *
 * @example Serving the demo API on Bun
 * ```ts ignore
 * import { Server } from "@wsrpc/protocol";
 * import { createHandler } from "@wsrpc/protocol/bun";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 *
 * const server = new Server(demoAPI, { handlers: demoHandlers });
 * const bun = Bun.serve({ hostname: "127.0.0.1", port: 0, ...createHandler(server, { path: "/v1/ws" }) });
 * console.log(`ws://127.0.0.1:${bun.port}/v1/ws`);
 * ```
 *
 * @example The handler's shape
 * ```ts
 * import { Server } from "@wsrpc/protocol";
 * import { createHandler } from "@wsrpc/protocol/bun";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 * import assert from "node:assert/strict";
 *
 * const handler = createHandler(new Server(demoAPI, { handlers: demoHandlers }), { path: "/v1/ws" });
 * const bun = { upgrade: () => true };
 * const response = await handler.fetch(new Request("http://localhost/other"), bun);
 * assert.equal(response?.status, 404);
 * ```
 */
export function createHandler<A extends API>(
  server: Server<A>,
  options: BunAdapterOptions = {},
): BunHandler {
  const maxPayloadLength = options.maxPayloadLength ?? server.readLimit;
  if (!Number.isSafeInteger(maxPayloadLength) || maxPayloadLength <= 0) {
    throw new RangeError(
      `Invalid maxPayloadLength: expected a positive integer, got ${String(maxPayloadLength)}`,
    );
  }
  // Kept on the `ws.data` object this adapter made, under a key of this
  // adapter's own: sockets upgraded by anything else are ignored, nothing
  // outlives the socket, and a frame costs a property read, not a WeakMap lookup.
  const key = Symbol("wsrpc socket");
  const socketOf = (ws: BunServerWebSocket): BunSocket | undefined =>
    typeof ws.data === "object" && ws.data !== null
      ? (ws.data as { [key]?: BunSocket })[key]
      : undefined;

  const websocket: BunWebSocketHandler = {
    open(ws) {
      const data = ws.data as BunSocketData;
      if (typeof data !== "object" || data === null || !(data.request instanceof Request)) return;
      const socket = new BunSocket(ws);
      (data as { [key]?: BunSocket })[key] = socket;
      socket.onOpen(); // Bun calls `open` once the socket is open
      const info: ConnectionInfo = { request: data.request };
      if (data.remoteAddr !== undefined) info.remoteAddr = data.remoteAddr;
      void server.serveSocket(socket, info);
    },
    message(ws, message) {
      socketOf(ws)?.onMessage(message);
    },
    close(ws, code, reason) {
      socketOf(ws)?.onClose(code, reason);
    },
    drain(ws) {
      socketOf(ws)?.onDrain();
    },
    maxPayloadLength,
  };
  if (options.perMessageDeflate !== undefined) {
    websocket.perMessageDeflate = options.perMessageDeflate;
  }

  return {
    fetch(request, bun) {
      const routed = routeRequest(request, options);
      if (routed !== undefined) return routed;
      const refusal = server.checkRequest(request);
      if (refusal !== undefined) return refusal;
      const ip = bun.requestIP?.(request);
      const data: BunSocketData = ip ? { request, remoteAddr: `${ip.address}:${ip.port}` } : {
        request,
      };
      const protocol = server.selectProtocol(request);
      const headers = protocol === undefined ? undefined : { "sec-websocket-protocol": protocol };
      if (bun.upgrade(request, headers === undefined ? { data } : { data, headers })) {
        return undefined;
      }
      return new Response("WebSocket upgrade failed\n", { status: 400 });
    },
    websocket,
  };
}

/**
 * The Bun adapter's handler factory under its former name.
 *
 * @deprecated Use {@linkcode createHandler}, the name both adapters share.
 */
export const createBunHandler: typeof createHandler = createHandler;
