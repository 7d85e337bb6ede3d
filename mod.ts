/**
 * wsrpc: Hemi Network's WebSocket RPC protocol for Deno, Bun, browsers and
 * edge runtimes. Every WebSocket text frame is one JSON message
 * `{"header":{"command","id"},"payload"}`; responses carry the request's id;
 * messages without an id are pushes.
 *
 * This module is runtime-neutral and lists every name it exports below: the
 * client ({@linkcode Conn}), framing ({@linkcode read}, {@linkcode write},
 * {@linkcode WSConn}), API definitions ({@linkcode defineAPI}), the server core
 * ({@linkcode Server}), the error model and close codes, and the ed25519
 * authenticator. Subpaths: `./deno` and `./bun` (runtime adapters, both
 * `createHandler`), `./ed25519` (keys, signatures and the handshake's options),
 * `./types` (type-level helpers for generic code), `./demo` (the demo API).
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

// Client
export { Conn } from "./lib/conn.ts";
export type { CallOptions, ConnOptions, KeepaliveOptions, ReconnectOptions } from "./lib/conn.ts";

// Framing and transport
export { read, write } from "./lib/framing.ts";
export { WSConn } from "./lib/ws_conn.ts";
export type { WebSocketLike, WSConnOptions } from "./lib/ws_conn.ts";
export type { APIConn, Message, PingRequest, PingResponse } from "./lib/message.ts";

// API definitions
export { defineAPI, schemalessAPI, unchecked } from "./lib/api.ts";
export type { API, StandardSchemaV1 } from "./lib/api.ts";

// Server core
export { Server, Session } from "./lib/server.ts";
export type { Handler, Handlers, RequestContext, ServerOptions } from "./lib/server.ts";

// Errors and close codes
export {
  ConnectionClosedError,
  errorf,
  HandshakeError,
  InternalError,
  InvalidCommandError,
  notFoundError,
  ProtocolError,
  requestError,
  requestErrorf,
} from "./lib/errors.ts";
export { CloseCode } from "./lib/close_code.ts";

// Authentication (keys and options: @wsrpc/protocol/ed25519)
export type { Authenticator, PeerIdentity } from "./lib/message.ts";
export {
  ed25519Client,
  ed25519Server,
  PublicKeyRefusedError,
} from "./lib/ed25519_authenticator.ts";
