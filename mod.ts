/**
 * wsrpc: Hemi Network's WebSocket RPC protocol for Deno, Bun, browsers and
 * edge runtimes. Every WebSocket text frame is one JSON message
 * `{"header":{"command","id"},"payload"}`; responses carry the request's id;
 * messages without an id are pushes.
 *
 * This module is runtime-neutral: the client ({@linkcode Conn}), framing
 * ({@linkcode read}, {@linkcode write}), API definitions
 * ({@linkcode defineAPI}), the error model and the server core
 * ({@linkcode Server}), and the ed25519 authenticator. Runtime adapters live in
 * `@wsrpc/protocol/deno` and `@wsrpc/protocol/bun`; the demo API in `@wsrpc/protocol/demo`.
 *
 * @example A typed call
 * ```ts ignore
 * import { Conn, defineAPI, unchecked, type PingRequest, type PingResponse } from "@wsrpc/protocol";
 *
 * const api = defineAPI({
 *   "demo-ping-request": unchecked<PingRequest>(),
 *   "demo-ping-response": unchecked<PingResponse>(),
 * });
 * await using conn = new Conn("ws://127.0.0.1:8080", { api });
 * await conn.connect();
 * const pong = await conn.call("demo-ping-request", { timestamp: 1 });
 * console.log(pong.origintimestamp);
 * ```
 *
 * @module
 */

export * from "./lib/message.ts";
export * from "./lib/errors.ts";
export * from "./lib/api.ts";
export * from "./lib/framing.ts";
export * from "./lib/ws_conn.ts";
export * from "./lib/conn.ts";
export * from "./lib/server.ts";
export * from "./lib/ed25519_keys.ts";
export * from "./lib/ed25519_authenticator.ts";
