/**
 * The options of `Conn`: for the connection ({@linkcode ConnOptions}), its
 * reconnects, keepalive and socket factory, and for one call
 * ({@linkcode CallOptions}). `Conn` itself lives in `conn.ts`.
 *
 * @module
 */

import type { TopicGap } from "./topics.ts";
import type { API } from "./api.ts";
import type { ConnectionClosedError } from "./errors.ts";
import type { Authenticator, TraceContext } from "./message.ts";
import type { WebSocketLike } from "./_socket.ts";

/**
 * Makes the socket a `Conn` connects with. The default uses the
 * global `WebSocket`, passing `headers` where the runtime allows it (Deno,
 * Bun).
 *
 * @example A factory for a WebSocket implementation of your own
 * ```ts
 * import { Conn, ConnectionClosedError } from "@wsrpc/protocol";
 * import type { WebSocketFactory } from "@wsrpc/protocol/types";
 * import assert from "node:assert/strict";
 *
 * const dialed: unknown[] = [];
 * const webSocket: WebSocketFactory = (url, { headers }) => {
 *   dialed.push({ url, headers });
 *   // A socket that never opens, as when nothing listens.
 *   const socket = Object.assign(new EventTarget(), {
 *     readyState: 0, bufferedAmount: 0, binaryType: "", send() {}, close() {},
 *   });
 *   setTimeout(() => socket.dispatchEvent(new CloseEvent("close", { code: 1006 })));
 *   return socket;
 * };
 * const headers = { authorization: "Bearer t0ken" };
 * const conn = new Conn("http://in-memory.test/v1/ws", { webSocket, headers });
 * await assert.rejects(conn.connect(), ConnectionClosedError);
 * assert.deepEqual(dialed, [{ url: "ws://in-memory.test/v1/ws", headers }]);
 * ```
 */
export type WebSocketFactory = (
  url: string,
  options: { headers?: Record<string, string>; protocols?: string | string[] },
) => WebSocketLike;

/**
 * Automatic reconnection: exponential backoff with jitter.
 *
 * @example Dialing again after the socket drops
 * ```ts
 * import { Conn, type ReconnectOptions } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * // In-memory sockets whose server only sends its first message (the ping with id "0").
 * class FakeSocket extends EventTarget {
 *   readyState = 1; bufferedAmount = 0; binaryType = "";
 *   send(): void {}
 *   close(code = 1000, reason = ""): void { this.dispatchEvent(new CloseEvent("close", { code, reason })); }
 * }
 * const sockets: FakeSocket[] = [];
 * const webSocket = () => {
 *   const socket = new FakeSocket();
 *   sockets.push(socket);
 *   const data = '{"header":{"command":"x-ping-request","id":"0"}}';
 *   setTimeout(() => socket.dispatchEvent(new MessageEvent("message", { data })));
 *   return socket;
 * };
 * const reconnect: ReconnectOptions = { initialDelayMs: 20, jitter: 0 };
 * await using conn = new Conn("ws://in-memory.test/", { webSocket, reconnect });
 * await conn.connect();
 * sockets[0]!.close(1006); // the connection drops
 * assert.equal(conn.isOnline, false);
 * await new Promise((resolve) => setTimeout(resolve, 100));
 * assert.equal(sockets.length, 2); // dialed again after initialDelayMs
 * assert.equal(conn.connectCount, 2);
 * ```
 */
export interface ReconnectOptions {
  /**
   * Delay before the first attempt.
   *
   * @default {250}
   */
  initialDelayMs?: number;
  /**
   * Largest delay between attempts.
   *
   * @default {30_000}
   */
  maxDelayMs?: number;
  /**
   * Growth of the delay per failed attempt.
   *
   * @default {2}
   */
  factor?: number;
  /**
   * Fraction of each delay drawn at random (0 to 1), so that clients of a
   * restarted server do not return in step.
   *
   * @default {0.5}
   */
  jitter?: number;
  /**
   * Attempts after one drop before giving up.
   *
   * @default {Infinity}
   */
  maxAttempts?: number;
}

/**
 * Keepalive: a ping call at an interval, measuring round-trip time. A ping
 * that gets no answer in time closes the socket (1001, `keepalive timeout`),
 * which triggers a reconnect when that is on.
 *
 * @example A ping that gets no answer closes the socket
 * ```ts
 * import { Conn, type ConnectionClosedError, type KeepaliveOptions } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * // An in-memory socket whose server only sends its first message (the ping with id "0").
 * class FakeSocket extends EventTarget {
 *   readyState = 1; bufferedAmount = 0; binaryType = ""; sent: string[] = [];
 *   send(frame: string): void { this.sent.push(frame); }
 *   close(code = 1000, reason = ""): void { this.dispatchEvent(new CloseEvent("close", { code, reason })); }
 * }
 * const socket = new FakeSocket();
 * const data = '{"header":{"command":"x-ping-request","id":"0"}}';
 * setTimeout(() => socket.dispatchEvent(new MessageEvent("message", { data })));
 * const keepalive: KeepaliveOptions = { intervalMs: 10, timeoutMs: 10, command: "tbcapi-ping-request" };
 * let dropped: ConnectionClosedError | undefined;
 * const conn = new Conn("ws://in-memory.test/", {
 *   webSocket: () => socket,
 *   keepalive,
 *   onDisconnect: (error) => dropped = error,
 * });
 * await conn.connect();
 * await new Promise((resolve) => setTimeout(resolve, 100));
 * assert.deepEqual(JSON.parse(socket.sent[0]!).header, { command: "tbcapi-ping-request", id: "1" });
 * assert.deepEqual([dropped?.code, dropped?.reason], [1001, "keepalive timeout"]);
 * assert.equal(conn.isOnline, false);
 * ```
 */
export interface KeepaliveOptions {
  /**
   * Time between pings.
   *
   * @default {30_000}
   */
  intervalMs?: number;
  /**
   * How long a ping may take.
   *
   * @default {10_000}
   */
  timeoutMs?: number;
  /**
   * The ping request command; by default the API's command ending in
   * `-ping-request`.
   */
  command?: string;
}

/**
 * Options for `Conn`.
 *
 * @typeParam A The API the connection speaks.
 *
 * @example A call timeout and a message log
 * ```ts
 * import { Conn, type ConnOptions } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * // An in-memory socket whose server only sends its first message (the ping with id "0").
 * class FakeSocket extends EventTarget {
 *   readyState = 1; bufferedAmount = 0; binaryType = "";
 *   send(): void {}
 *   close(code = 1000, reason = ""): void { this.dispatchEvent(new CloseEvent("close", { code, reason })); }
 * }
 * const socket = new FakeSocket();
 * const data = '{"header":{"command":"x-ping-request","id":"0"}}';
 * setTimeout(() => socket.dispatchEvent(new MessageEvent("message", { data })));
 * const log: string[] = [];
 * const options: ConnOptions = {
 *   webSocket: () => socket,
 *   callTimeoutMs: 20,
 *   onMessage: (direction, message) => log.push(`${direction} ${JSON.stringify(message)}`),
 * };
 * await using conn = new Conn("ws://in-memory.test/", options);
 * await conn.connect();
 * await assert.rejects(conn.call("x-echo-request", "hi"), { name: "TimeoutError" });
 * assert.equal(conn.pendingCalls, 0);
 * assert.deepEqual(log, [
 *   `receive ${data}`,
 *   'send {"header":{"command":"x-echo-request","id":"1"},"payload":"hi"}',
 * ]);
 * ```
 */
export interface ConnOptions<A extends API = API> {
  /**
   * The commands and payload schemas; incoming messages are checked against it.
   *
   * @default {schemalessAPI}
   */
  api?: A;
  /** Runs a handshake (such as ed25519) on each new socket before traffic. */
  authenticator?: Authenticator;
  /**
   * Time for dial, handshake and the server's first message.
   *
   * @default {20_000}
   */
  connectTimeoutMs?: number;
  /**
   * Time for the authenticator's handshake.
   *
   * @default {15_000}
   */
  handshakeTimeoutMs?: number;
  /**
   * Default time a call may take; 0 for none.
   *
   * @default {60_000}
   */
  callTimeoutMs?: number;
  /**
   * Largest incoming message, in bytes.
   *
   * @default {512 * 1024}
   */
  readLimit?: number;
  /**
   * Deepest JSON nesting accepted in an incoming message.
   *
   * @default {64}
   */
  maxDepth?: number;
  /** Headers for the upgrade request (Deno and Bun; browsers cannot send them). */
  headers?: Record<string, string>;
  /** WebSocket subprotocols to offer. */
  protocols?: string | string[];
  /**
   * Whether a response whose payload carries `error` rejects the call with a
   * `ProtocolError`. When false, such payloads resolve as they are.
   *
   * @default {true}
   */
  rejectErrors?: boolean;
  /**
   * Pushes held for `read` at most; past it the oldest is dropped and counted
   * in `droppedPushes`.
   *
   * @default {1024}
   */
  pushQueueSize?: number;
  /**
   * Bytes of pushes held for `read` at most (each counted as its frame's
   * length, plus 64 for bookkeeping); past it the oldest are dropped and
   * counted in `droppedPushes`, as for `pushQueueSize`. The newest push is
   * always kept, whatever its size (`readLimit` bounds it).
   *
   * @default {8 * 1024 * 1024}
   */
  pushQueueBytes?: number;
  /**
   * Reconnect after the socket drops (not after `close()`).
   *
   * @default {false}
   */
  reconnect?: boolean | ReconnectOptions;
  /** Ping the server at an interval and measure round-trip time. */
  keepalive?: KeepaliveOptions;
  /** Makes sockets; for runtimes or libraries without a global `WebSocket`. */
  webSocket?: WebSocketFactory;
  /**
   * The wsrpc extensions to accept when a server offers them (default: every
   * one this client implements: `cancel`, `describe`, `trace`, `topics`); `[]` accepts
   * none. Against a server that offers none (a Go server) nothing changes.
   */
  extensions?: readonly string[];
  /**
   * Called when the server reports a gap in a topic ("topics" extension):
   * notifications of it may be missing before the ones that follow (past
   * the bus's retention after a reconnect, a lost broker history, or a
   * resume the server refused). Never silent: without this hook the gap
   * is still counted in `topicPositions` (the topic restarts at seq 0).
   */
  onTopicGap?: (gap: TopicGap) => void;
  /**
   * Gives the trace context for each request (for example from
   * OpenTelemetry's active span); sent only when the server took the `trace`
   * extension, and only when valid. `CallOptions.trace` overrides it.
   */
  trace?: () => TraceContext | undefined;
  /** Called with every message sent and received (for logs and `--verbose`). */
  onMessage?: (direction: "send" | "receive", message: unknown) => void;
  /** Called each time a connection is established. */
  onConnect?: () => void;
  /** Called when an established connection drops or is closed. */
  onDisconnect?: (error: ConnectionClosedError) => void;
}

/**
 * Options for one call.
 *
 * @example A time limit of its own
 * ```ts
 * import { Conn, type CallOptions } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * // An in-memory socket whose server only sends its first message (the ping with id "0").
 * class FakeSocket extends EventTarget {
 *   readyState = 1; bufferedAmount = 0; binaryType = "";
 *   send(): void {}
 *   close(code = 1000, reason = ""): void { this.dispatchEvent(new CloseEvent("close", { code, reason })); }
 * }
 * const socket = new FakeSocket();
 * const data = '{"header":{"command":"x-ping-request","id":"0"}}';
 * setTimeout(() => socket.dispatchEvent(new MessageEvent("message", { data })));
 * await using conn = new Conn("ws://in-memory.test/", { webSocket: () => socket });
 * await conn.connect();
 * const options: CallOptions = { timeoutMs: 10 };
 * await assert.rejects(conn.call("x-slow-request", {}, options), {
 *   name: "TimeoutError",
 *   message: 'Call "x-slow-request" timed out after 10 ms',
 * });
 * ```
 */
export interface CallOptions {
  /** Cancels the call. */
  signal?: AbortSignal;
  /**
   * Time the call may take; 0 for none.
   *
   * @default {ConnOptions.callTimeoutMs}
   */
  timeoutMs?: number;
  /**
   * Whether a payload carrying `error` rejects.
   *
   * @default {ConnOptions.rejectErrors}
   */
  rejectErrors?: boolean;
  /**
   * A W3C trace context to send with this request (the `trace` extension:
   * sent only when negotiated, dropped when invalid).
   */
  trace?: TraceContext;
}
