/**
 * The protocol's message shapes and the transport interface they travel on.
 *
 * @module
 */

/**
 * A command name, conventionally `<api>-<name>-request`, `<api>-<name>-response`
 * or `<api>-<name>-notification`.
 *
 * @example Naming a command
 * ```ts
 * import { decodeMessage, schemalessAPI, type Command } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const command: Command = "tbcapi-ping-request";
 * const incoming = await decodeMessage(schemalessAPI, { header: { command, id: "1" }, payload: {} });
 * assert.equal(incoming.command, command);
 * ```
 */
export type Command = string;

/**
 * The header of every message. `id` is omitted on the wire when empty (a push).
 *
 * @example A request header
 * ```ts
 * import { decodeMessage, schemalessAPI, type Header } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const header: Header = { command: "tbcapi-ping-request", id: "1" };
 * assert.equal((await decodeMessage(schemalessAPI, { header, payload: {} })).id, "1");
 * // Without an id it is a push: id "".
 * assert.equal((await decodeMessage(schemalessAPI, { header: { command: "x" }, payload: {} })).id, "");
 * ```
 */
export interface Header {
  /** The command that names the payload's type. */
  command: Command;
  /** The request id; absent (or empty) on pushes. */
  id?: string;
}

/**
 * One protocol message, exactly as it is on the wire.
 *
 * @typeParam P The payload's type.
 *
 * @example A push message
 * ```ts
 * import { encodeMessage, type Message } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const message: Message<{ seq: number }> = {
 *   header: { command: "demo-event-notification" },
 *   payload: { seq: 1 },
 * };
 * // encodeMessage writes the same bytes, in the same key order, without building the object.
 * assert.equal(encodeMessage("demo-event-notification", "", { seq: 1 }), JSON.stringify(message));
 * ```
 */
export interface Message<P = unknown> {
  /** Command and id. */
  header: Header;
  /** The payload; `null` when there is none. */
  payload: P;
}

/**
 * A connection that carries JSON documents, one per WebSocket text frame: the
 * protocol's `APIConn`. {@linkcode WSConn} implements it over a standard
 * `WebSocket`; authenticators run their handshake on it.
 *
 * Calls to `readJSON` must not overlap: one reader at a time. `writeJSON` may
 * be called concurrently; each call sends exactly one frame.
 *
 * @example An in-memory APIConn
 * ```ts
 * import { read, schemalessAPI, write, type APIConn } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const queue: unknown[] = [];
 * const loopback: APIConn = {
 *   readJSON: () => Promise.resolve(queue.shift()),
 *   writeJSON: (value) => { queue.push(value); return Promise.resolve(); },
 * };
 * await write(loopback, schemalessAPI, "5", "demo-echo-request", { hello: 1 });
 * assert.deepEqual(await read(loopback, schemalessAPI), {
 *   command: "demo-echo-request",
 *   id: "5",
 *   payload: { hello: 1 },
 * });
 * ```
 */
export interface APIConn {
  /** Reads the next JSON document. Rejects when the connection fails or `signal` aborts. */
  readJSON(signal?: AbortSignal): Promise<unknown>;
  /** Writes one JSON document as one text frame. */
  writeJSON(value: unknown, signal?: AbortSignal): Promise<void>;
}

/**
 * The peer identity an authenticator established, as the server sees it.
 *
 * @example
 * ```ts
 * import type { PeerIdentity } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const peer: PeerIdentity = { publicKey: "ab".repeat(32), userAgent: "cli/1" };
 * assert.equal(peer.publicKey.length, 64);
 * ```
 */
export interface PeerIdentity {
  /** The peer's public key, lowercase hex. */
  publicKey: string;
  /** What the peer says it is. */
  userAgent: string;
}

/**
 * Runs a challenge-response handshake on a fresh connection before normal
 * traffic, as the protocol's `Authenticator`. Both methods reject with a
 * {@linkcode HandshakeError} when the handshake fails.
 *
 * @example A trivial authenticator that trusts everyone
 * ```ts
 * import type { Authenticator, APIConn, PeerIdentity } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const anonymous: Authenticator = {
 *   handshakeClient: (_conn: APIConn, _signal: AbortSignal) => Promise.resolve(),
 *   handshakeServer: (_conn: APIConn, _signal: AbortSignal): Promise<PeerIdentity> =>
 *     Promise.resolve({ publicKey: "", userAgent: "" }),
 * };
 * assert.equal(typeof anonymous.handshakeServer, "function");
 * ```
 */
export interface Authenticator {
  /** The client's side of the handshake. */
  handshakeClient(conn: APIConn, signal: AbortSignal): Promise<void>;
  /** The server's side; resolves with the identity the client proved. */
  handshakeServer(conn: APIConn, signal: AbortSignal): Promise<PeerIdentity>;
}

/**
 * The protocol's ping request: `{"timestamp": <unix seconds>}`.
 *
 * @example
 * ```ts
 * import type { PingRequest } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const ping: PingRequest = { timestamp: Math.floor(Date.now() / 1000) };
 * assert.ok(ping.timestamp > 0);
 * ```
 */
export interface PingRequest {
  /** The sender's time, unix seconds. */
  timestamp: number;
}

/**
 * The protocol's ping response:
 * `{"origintimestamp": <request's timestamp>, "timestamp": <unix seconds>}`.
 *
 * @example
 * ```ts
 * import type { PingResponse } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const pong: PingResponse = { origintimestamp: 1, timestamp: 2 };
 * assert.equal(JSON.stringify(pong), '{"origintimestamp":1,"timestamp":2}');
 * ```
 */
export interface PingResponse {
  /** The timestamp of the request this answers. */
  origintimestamp: number;
  /** The responder's time, unix seconds. */
  timestamp: number;
}

/** Maximum time for dial plus handshake, in milliseconds (Go `WSConnectTimeout`).
 *
 * @example
 * ```ts
 * import { WS_CONNECT_TIMEOUT_MS } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 * assert.equal(WS_CONNECT_TIMEOUT_MS, 20_000);
 * ```
 */
export const WS_CONNECT_TIMEOUT_MS = 20_000;

/** Maximum time for the authenticator's handshake, in milliseconds (Go `WSHandshakeTimeout`).
 *
 * @example
 * ```ts
 * import { WS_HANDSHAKE_TIMEOUT_MS } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 * assert.equal(WS_HANDSHAKE_TIMEOUT_MS, 15_000);
 * ```
 */
export const WS_HANDSHAKE_TIMEOUT_MS = 15_000;

/** Default maximum size of one incoming message, in bytes (512 KiB).
 *
 * @example
 * ```ts
 * import { DEFAULT_READ_LIMIT } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 * assert.equal(DEFAULT_READ_LIMIT, 512 * 1024);
 * ```
 */
export const DEFAULT_READ_LIMIT = 512 * 1024;
