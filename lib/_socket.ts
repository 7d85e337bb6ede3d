/**
 * The socket contract below the frame layer: what a socket must offer
 * ({@linkcode WebSocketLike}), the limits a connection takes
 * ({@linkcode WSConnOptions}) and the close status it reports
 * ({@linkcode CloseInfo}). Public through `ws_conn.ts`.
 *
 * @module
 */

/**
 * The part of the standard `WebSocket` that {@linkcode WSConn} uses, so that
 * adapters (Bun's `ServerWebSocket`, a test double) can supply their own.
 *
 * @example A test double: WSConn writes, reads and closes through it
 * ```ts
 * import { WSConn, type WebSocketLike } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * // An in-memory stand-in for the peer's end of the socket.
 * class FakeSocket extends EventTarget implements WebSocketLike {
 *   readyState = 1; bufferedAmount = 0; binaryType = ""; sent: string[] = [];
 *   send(frame: string): void { this.sent.push(frame); }
 *   close(code = 1000, reason = ""): void {
 *     this.readyState = 3;
 *     this.dispatchEvent(new CloseEvent("close", { code, reason }));
 *   }
 *   receive(data: unknown): void { this.dispatchEvent(new MessageEvent("message", { data })); }
 * }
 * const socket = new FakeSocket();
 * const conn = new WSConn(socket);
 * await conn.writeJSON({ header: { command: "x-ping-request", id: "0" }, payload: {} });
 * assert.deepEqual(socket.sent, ['{"header":{"command":"x-ping-request","id":"0"},"payload":{}}']);
 * socket.receive('{"big":9007199254740993}');
 * assert.deepEqual(await conn.readJSON(), { big: 9007199254740993n }); // beyond 2^53: a bigint
 * conn.close(4000, "bye");
 * assert.deepEqual(await conn.closed, { code: 4000, reason: "bye" });
 * assert.equal(socket.readyState, 3);
 * ```
 */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Bytes queued by `send` and not yet written to the network. */
  readonly bufferedAmount: number;
  /** How binary frames are delivered. */
  binaryType: string;
  /** Sends one text frame. */
  send(data: string): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Listens for `open`, `message`, `close` and `error`. */
  addEventListener(type: string, listener: (event: Event) => void): void;
}

/**
 * Options for {@linkcode WSConn}.
 *
 * @example A message over the read limit closes the connection with 1009
 * ```ts
 * import { ConnectionClosedError, WSConn, type WSConnOptions } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * // An in-memory stand-in for the peer's end of the socket.
 * class FakeSocket extends EventTarget {
 *   readyState = 1; bufferedAmount = 0; binaryType = ""; sent: string[] = [];
 *   send(frame: string): void { this.sent.push(frame); }
 *   close(code = 1000, reason = ""): void {
 *     this.readyState = 3;
 *     this.dispatchEvent(new CloseEvent("close", { code, reason }));
 *   }
 *   receive(data: unknown): void { this.dispatchEvent(new MessageEvent("message", { data })); }
 * }
 * const socket = new FakeSocket();
 * const options: WSConnOptions = { readLimit: 16 };
 * const conn = new WSConn(socket, options);
 * socket.receive('{"ok":1}'); // 8 bytes
 * socket.receive('{"text":"far too long"}'); // 23 bytes
 * assert.deepEqual(await conn.readJSON(), { ok: 1 }); // what came before is still read
 * await assert.rejects(conn.readJSON(), (e) => e instanceof ConnectionClosedError && e.code === 1009);
 * assert.deepEqual(await conn.closed, { code: 1009, reason: "read limited at 16 bytes" });
 * ```
 */
export interface WSConnOptions {
  /**
   * Largest incoming message, in UTF-8 bytes. A larger one closes the
   * connection with 1009.
   *
   * @default {512 * 1024}
   */
  readLimit?: number;
  /**
   * Deepest nesting of arrays and objects in an incoming message. Deeper
   * closes the connection with 1009.
   *
   * @default {64}
   */
  maxDepth?: number;
  /**
   * Outgoing bytes the socket may hold unsent before `writeJSON` waits for the
   * peer to read (backpressure). Each queued message counts as its size plus
   * 1 KiB: the runtime's own cost per queued message (measured on Deno 2.9:
   * about 0.9 KiB), which dominates for small messages.
   *
   * @default {4 * 1024 * 1024}
   */
  writeHighWaterMark?: number;
  /**
   * How long writes may wait while the outgoing buffer stays over the
   * high-water mark without draining (no byte of it sent) before the
   * connection is closed with 1008 (the peer is not reading). Waiting writes
   * go out in order as the buffer drains; a peer that keeps reading is never
   * timed out, however many writes wait.
   *
   * @default {30_000}
   */
  writeTimeoutMs?: number;
  /**
   * Received messages waiting to be read, in bytes (each counted as its
   * length plus 64 for bookkeeping). The runtime's `WebSocket` delivers
   * messages whether or not anyone reads them, so a peer that sends while
   * nobody reads would otherwise grow this queue without end. Past the limit
   * the connection is closed with 1008 `read queue full`. A message that
   * arrives to an empty queue is always accepted, however large (up to
   * `readLimit`).
   *
   * @default {4 * 1024 * 1024}
   */
  readQueueLimit?: number;
}

/**
 * The close status of a connection (RFC 6455 §7.1.5, §7.1.6).
 *
 * @example The status a binary frame closes with
 * ```ts
 * import { WSConn } from "@wsrpc/protocol";
 * import { type CloseInfo } from "@wsrpc/protocol/types";
 * import assert from "node:assert/strict";
 *
 * // An in-memory stand-in for the peer's end of the socket.
 * class FakeSocket extends EventTarget {
 *   readyState = 1; bufferedAmount = 0; binaryType = ""; sent: string[] = [];
 *   send(frame: string): void { this.sent.push(frame); }
 *   close(code = 1000, reason = ""): void {
 *     this.readyState = 3;
 *     this.dispatchEvent(new CloseEvent("close", { code, reason }));
 *   }
 *   receive(data: unknown): void { this.dispatchEvent(new MessageEvent("message", { data })); }
 * }
 * const socket = new FakeSocket();
 * const conn = new WSConn(socket);
 * socket.receive(new Uint8Array([1, 2, 3])); // the protocol is text only
 * const status: CloseInfo = await conn.closed;
 * assert.deepEqual(status, { code: 1003, reason: "expected text message" });
 * ```
 */
export interface CloseInfo {
  /** Close code; 1006 when the connection dropped without a close frame. */
  code: number;
  /** Close reason. */
  reason: string;
}
