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
 * import { decodeMessage } from "./framing.ts";
 * import { schemalessAPI } from "@wsrpc/protocol";
 * import { type Command } from "@wsrpc/protocol/types";
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
 * import { decodeMessage } from "./framing.ts";
 * import { schemalessAPI } from "@wsrpc/protocol";
 * import { type Header } from "@wsrpc/protocol/types";
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
 * import { encodeMessage } from "./framing.ts";
 * import { type Message } from "@wsrpc/protocol";
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
 * @example The identity an ed25519 handshake establishes
 * ```ts
 * import { ed25519Client, ed25519Server } from "@wsrpc/protocol";
 * import { encodeHex, generateKeyPair } from "@wsrpc/protocol/ed25519";
 * import type { APIConn, PeerIdentity } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * // Two in-memory connections joined back to back.
 * const link = (inbox: unknown[], outbox: unknown[]): APIConn => ({
 *   async readJSON() {
 *     while (inbox.length === 0) await new Promise((r) => setTimeout(r, 1));
 *     return inbox.shift();
 *   },
 *   writeJSON: (value) => { outbox.push(value); return Promise.resolve(); },
 * });
 * const toServer: unknown[] = [], toClient: unknown[] = [];
 * const client = await generateKeyPair();
 * const signal = AbortSignal.timeout(5000);
 * const [, peer]: [void, PeerIdentity] = await Promise.all([
 *   ed25519Client({ secretKey: client.secretKey, userAgent: "cli/1" })
 *     .handshakeClient(link(toClient, toServer), signal),
 *   ed25519Server().handshakeServer(link(toServer, toClient), signal),
 * ]);
 * assert.deepEqual(peer, { publicKey: encodeHex(client.publicKey), userAgent: "cli/1" });
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
 * @example A shared-secret authenticator on a server
 * ```ts
 * import { HandshakeError, Server, type Authenticator } from "@wsrpc/protocol";
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
 * // The client's first message must carry the token.
 * const tokenAuth: Authenticator = {
 *   handshakeClient: (conn, signal) => conn.writeJSON({ token: "s3cret", agent: "cli/1" }, signal),
 *   async handshakeServer(conn, signal) {
 *     const hello = await conn.readJSON(signal) as { token?: unknown; agent?: string };
 *     if (hello.token !== "s3cret") throw new HandshakeError("bad token");
 *     return { publicKey: "", userAgent: String(hello.agent) };
 *   },
 * };
 * const server = new Server(demoAPI, { handlers: demoHandlers, authenticator: tokenAuth });
 * const [good, bad] = [new FakeSocket(), new FakeSocket()];
 * const served = [server.serveSocket(good), server.serveSocket(bad)];
 * const [goodSession, badSession] = server.sessions.values();
 * good.receive({ token: "s3cret", agent: "cli/1" });
 * bad.receive({ token: "guess" });
 * await new Promise((resolve) => setTimeout(resolve, 0));
 * assert.equal(goodSession?.peer?.userAgent, "cli/1");
 * assert.match(good.sent[0]!, /"demo-ping-request"/); // admitted: the first ping
 * assert.deepEqual(await badSession?.closed, { code: 4100, reason: "handshake failed: bad token" });
 * good.close();
 * await Promise.all(served);
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
 * @example The server's first message: a ping with id "0"
 * ```ts
 * import { Server, type PingRequest } from "@wsrpc/protocol";
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
 * const before = Math.floor(Date.now() / 1000);
 * const served = new Server(demoAPI, { handlers: demoHandlers }).serveSocket(socket);
 * await new Promise((resolve) => setTimeout(resolve, 0)); // let the server speak
 * const { header, payload } = JSON.parse(socket.sent[0]!);
 * assert.deepEqual(header, { command: "demo-ping-request", id: "0" });
 * const ping: PingRequest = payload;
 * assert.ok(ping.timestamp >= before && ping.timestamp <= Math.floor(Date.now() / 1000));
 * socket.close();
 * await served;
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
 * @example The demo server's answer to a ping
 * ```ts
 * import { Server, type PingResponse } from "@wsrpc/protocol";
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
 * socket.receive({ header: { command: "demo-ping-request", id: "1" }, payload: { timestamp: 42 } });
 * await new Promise((resolve) => setTimeout(resolve, 0)); // let the server answer
 * const { header, payload } = JSON.parse(socket.sent[1]!);
 * assert.deepEqual(header, { command: "demo-ping-response", id: "1" });
 * const pong: PingResponse = payload;
 * assert.equal(pong.origintimestamp, 42); // the request's timestamp, echoed
 * assert.ok(Math.abs(pong.timestamp - Date.now() / 1000) < 60); // the server's clock
 * socket.close();
 * await served;
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
 * import { WS_CONNECT_TIMEOUT_MS } from "./message.ts";
 * import assert from "node:assert/strict";
 * assert.equal(WS_CONNECT_TIMEOUT_MS, 20_000);
 * ```
 */
export const WS_CONNECT_TIMEOUT_MS = 20_000;

/** Maximum time for the authenticator's handshake, in milliseconds (Go `WSHandshakeTimeout`).
 *
 * @example
 * ```ts
 * import { WS_HANDSHAKE_TIMEOUT_MS } from "./message.ts";
 * import assert from "node:assert/strict";
 * assert.equal(WS_HANDSHAKE_TIMEOUT_MS, 15_000);
 * ```
 */
export const WS_HANDSHAKE_TIMEOUT_MS = 15_000;

/** Default maximum size of one incoming message, in bytes (512 KiB).
 *
 * @example
 * ```ts
 * import { DEFAULT_READ_LIMIT } from "./message.ts";
 * import assert from "node:assert/strict";
 * assert.equal(DEFAULT_READ_LIMIT, 512 * 1024);
 * ```
 */
export const DEFAULT_READ_LIMIT = 512 * 1024;

/**
 * A W3C Trace Context (https://www.w3.org/TR/trace-context/) carried with a
 * request by the `trace` extension.
 *
 * @example A valid context
 * ```ts
 * import type { TraceContext } from "@wsrpc/protocol/types";
 * import assert from "node:assert/strict";
 *
 * const trace: TraceContext = {
 *   traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
 *   tracestate: "vendor=value",
 * };
 * assert.equal(trace.traceparent.split("-")[1]?.length, 32);
 * ```
 */
export interface TraceContext {
  /** `00-<trace id>-<parent id>-<flags>`, lowercase hex. */
  readonly traceparent: string;
  /** Vendor-specific `key=value` pairs, comma-separated. */
  readonly tracestate?: string;
}
