/**
 * `Conn`: the protocol's client. Connects with timeouts, runs the
 * authenticator, correlates calls by id, queues pushes, reconnects.
 *
 * @module
 */

import {
  type API,
  type CommandOf,
  type PayloadOf,
  type ResponseCommandOf,
  schemalessAPI,
} from "./api.ts";
import { abortable, deadline, MAX_TIMER_DELAY, settledWithin } from "./_deadline.ts";
import {
  ConnectionClosedError,
  HandshakeError,
  InvalidCommandError,
  ProtocolError,
  STATUS_HANDSHAKE_ERR,
} from "./errors.ts";
import { decodeMessage, encodeMessage, type Incoming, messageOf } from "./framing.ts";
import {
  type APIConn,
  type Authenticator,
  DEFAULT_READ_LIMIT,
  WS_CONNECT_TIMEOUT_MS,
  WS_HANDSHAKE_TIMEOUT_MS,
} from "./message.ts";
import type { WebSocketLike } from "./_socket.ts";
import { FrameSocket } from "./_frames.ts";

/** Default `pushQueueBytes`: 8 MiB of pushes waiting for `read`. */
const DEFAULT_PUSH_QUEUE_BYTES = 8 * 1024 * 1024;
/** Bytes counted per queued push on top of its frame length (entry, decoded value). */
const PUSH_OVERHEAD = 64;

/**
 * Makes the socket a {@linkcode Conn} connects with. The default uses the
 * global `WebSocket`, passing `headers` where the runtime allows it (Deno,
 * Bun).
 *
 * @example A factory for a WebSocket implementation of your own
 * ```ts
 * import { Conn } from "@wsrpc/protocol";
 * import { type WebSocketFactory } from "@wsrpc/protocol/types";
 * import assert from "node:assert/strict";
 *
 * // An in-memory stand-in for the server's end of the socket.
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
 * const dialed: unknown[] = [];
 * const factory: WebSocketFactory = (url, { headers }) => {
 *   dialed.push({ url, headers });
 *   const socket = new FakeSocket();
 *   // The server speaks first: its ping with id "0".
 *   queueMicrotask(() => socket.receive({ header: { command: "x-ping-request", id: "0" } }));
 *   return socket;
 * };
 * const conn = new Conn("http://in-memory.test/v1/ws", {
 *   webSocket: factory,
 *   headers: { authorization: "Bearer t0ken" },
 * });
 * await conn.connect();
 * assert.ok(conn.isOnline);
 * assert.deepEqual(dialed, [
 *   { url: "ws://in-memory.test/v1/ws", headers: { authorization: "Bearer t0ken" } },
 * ]);
 * await conn.close();
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
 * // An in-memory stand-in for the server's end of the socket.
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
 * const sockets: FakeSocket[] = [];
 * const webSocket = () => {
 *   const socket = new FakeSocket();
 *   sockets.push(socket);
 *   queueMicrotask(() => socket.receive({ header: { command: "x-ping-request", id: "0" } }));
 *   return socket;
 * };
 * const reconnect: ReconnectOptions = { initialDelayMs: 20, jitter: 0 };
 * const conn = new Conn("ws://in-memory.test/", { webSocket, reconnect });
 * await conn.connect();
 * sockets[0]!.close(1006, ""); // the connection drops
 * assert.equal(conn.isOnline, false);
 * assert.equal(sockets.length, 1); // no new dial before initialDelayMs
 * await new Promise((resolve) => setTimeout(resolve, 100));
 * assert.equal(sockets.length, 2);
 * assert.equal(conn.connectCount, 2);
 * assert.ok(conn.isOnline);
 * await conn.close();
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
 * // An in-memory stand-in for the server's end of the socket.
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
 * const webSocket = () => {
 *   // The server speaks first: its ping with id "0".
 *   queueMicrotask(() => socket.receive({ header: { command: "x-ping-request", id: "0" } }));
 *   return socket;
 * };
 * const keepalive: KeepaliveOptions = { intervalMs: 10, timeoutMs: 10, command: "tbcapi-ping-request" };
 * let dropped: ConnectionClosedError | undefined;
 * const conn = new Conn("ws://in-memory.test/", {
 *   webSocket,
 *   keepalive,
 *   onDisconnect: (error) => dropped = error,
 * });
 * await conn.connect();
 * await new Promise((resolve) => setTimeout(resolve, 100)); // the server never answers
 * assert.deepEqual(JSON.parse(socket.sent[0]!).header, { command: "tbcapi-ping-request", id: "1" });
 * assert.equal(dropped?.code, 1001);
 * assert.equal(dropped?.reason, "keepalive timeout");
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
 * Options for {@linkcode Conn}.
 *
 * @typeParam A The API the connection speaks.
 *
 * @example A call timeout and a message log
 * ```ts
 * import { Conn, type ConnOptions } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * // An in-memory stand-in for the server's end of the socket.
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
 * const webSocket = () => {
 *   // The server speaks first: its ping with id "0".
 *   queueMicrotask(() => socket.receive({ header: { command: "x-ping-request", id: "0" } }));
 *   return socket;
 * };
 * const log: string[] = [];
 * const options: ConnOptions = {
 *   webSocket,
 *   callTimeoutMs: 20,
 *   onMessage: (direction, message) => log.push(`${direction} ${JSON.stringify(message)}`),
 * };
 * await using conn = new Conn("ws://in-memory.test/", options);
 * await conn.connect();
 * // The server never answers: the call rejects after callTimeoutMs.
 * const start = performance.now();
 * await assert.rejects(conn.call("x-echo-request", "hi"), { name: "TimeoutError" });
 * assert.ok(performance.now() - start < 1_000);
 * assert.equal(conn.pendingCalls, 0);
 * assert.deepEqual(log, [
 *   'receive {"header":{"command":"x-ping-request","id":"0"}}',
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
   * {@linkcode ProtocolError}. When false, such payloads resolve as they are.
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
 * @example An error payload: rejected by default, returned with `rejectErrors: false`
 * ```ts
 * import { Conn, ProtocolError, type CallOptions } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * // An in-memory stand-in for the server's end of the socket.
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
 * const webSocket = () => {
 *   // The server speaks first: its ping with id "0".
 *   queueMicrotask(() => socket.receive({ header: { command: "x-ping-request", id: "0" } }));
 *   return socket;
 * };
 * await using conn = new Conn("ws://in-memory.test/", { webSocket });
 * await conn.connect();
 * const options: CallOptions = { rejectErrors: false, timeoutMs: 1_000 };
 * const strict = conn.call("x-fail-request", {}); // id "1"
 * const lenient = conn.call("x-fail-request", {}, options); // id "2"
 * for (const id of ["1", "2"]) {
 *   const error = { message: "no such block" };
 *   socket.receive({ header: { command: "x-fail-response", id }, payload: { error } });
 * }
 * await assert.rejects(strict, (e) => e instanceof ProtocolError && e.message === "no such block");
 * assert.deepEqual(await lenient, { error: { message: "no such block" } });
 * assert.equal(conn.pendingCalls, 0);
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
}

interface PendingCall {
  /** The command that must answer it (`x-request` -> `x-response`), when the API has one. */
  response: string | undefined;
  resolve(payload: unknown): void;
  reject(error: unknown): void;
  rejectErrors: boolean;
  /** When the call times out (`performance.now()` time), for the shared timer. */
  deadline?: number;
  /** Rejects the call with its timeout error. */
  expire?(): void;
}

interface PushEntry {
  raw: unknown;
  /** What it counts toward `pushQueueBytes`. */
  size: number;
  message?: Incoming;
  error?: unknown;
}

type State = "idle" | "connecting" | "online" | "reconnecting" | "closed";

/**
 * The protocol's client (Go `Conn`). Unlike Go's, it reads the socket
 * itself: `call` resolves on its own, and pushes (messages without an id, or
 * whose id matches no pending call) wait for `read` in a bounded queue.
 *
 * - `connect()` dials, runs the authenticator, and reads the server's first
 *   message (the ping with id "0"), all within `connectTimeoutMs`.
 * - `call()` numbers requests "1", "2", ...; responses may come in any order.
 *   A payload carrying `error` rejects with a {@linkcode ProtocolError}.
 * - When the socket drops, every pending call rejects at once with a
 *   {@linkcode ConnectionClosedError}; with `reconnect` on, calls made while
 *   offline wait for the next connection (within their timeout).
 * - `close()` rejects pending calls and ends `read` and the async iterator.
 *
 * Calls, writes and one reader may run concurrently.
 *
 * @typeParam A The API it speaks.
 *
 * @example Calling a server and reading its pushes
 * ```ts ignore
 * import { Conn, defineAPI, unchecked, type PingRequest, type PingResponse } from "@wsrpc/protocol";
 *
 * const api = defineAPI({
 *   "demo-ping-request": unchecked<PingRequest>(),
 *   "demo-ping-response": unchecked<PingResponse>(),
 *   "demo-event-notification": unchecked<{ seq: number }>(),
 * });
 * await using conn = new Conn("ws://127.0.0.1:8080/v1/ws", { api, reconnect: true });
 * await conn.connect();
 * const pong = await conn.call("demo-ping-request", { timestamp: 1 });
 * console.log(pong.origintimestamp); // 1
 * for await (const push of conn) console.log(push.command, push.payload);
 * ```
 */
export class Conn<A extends API = typeof schemalessAPI>
  implements APIConn, AsyncDisposable, AsyncIterable<Incoming<A>> {
  readonly #url: string;
  readonly #api: A;
  readonly #options: ConnOptions<A>;
  readonly #reconnect: Required<ReconnectOptions> | undefined;
  readonly #pingCommand: string | undefined;
  readonly #pending = new Map<string, PendingCall>();
  /** One timer for the call timeouts, set for the earliest deadline. */
  #sweepTimer: ReturnType<typeof setTimeout> | undefined;
  #sweepAt = Infinity;
  readonly #pushes: PushEntry[] = [];
  #pushBytes = 0;
  readonly #pushWaiters = new Set<() => void>();
  readonly #onlineWaiters = new Set<() => void>();
  #state: State = "idle";
  #ws: FrameSocket | undefined;
  #dialing: Promise<void> | undefined;
  #dialAbort: AbortController | undefined;
  /** Messages whose (asynchronous) validation is under way, and the chain that orders them. */
  #decoding = 0;
  #decoded: Promise<void> = Promise.resolve();
  #lastError: Error | undefined;
  #nextID = 0;
  #connectCount = 0;
  #droppedPushes = 0;
  #attempt = 0;
  #rtt: number | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #keepaliveTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Makes a client; nothing happens on the network until `connect()`.
   *
   * @param url A `ws:` or `wss:` URL.
   * @param options Timeouts, API, authenticator, reconnect and keepalive.
   * @throws {SyntaxError} When `url` is not a `ws:`/`wss:` URL (`http:` and `https:` are accepted and mapped).
   * @throws {TypeError} When keepalive is on but no ping command is known.
   */
  constructor(url: string | URL, options: ConnOptions<A> = {}) {
    this.#url = websocketURL(url);
    this.#options = options;
    this.#api = (options.api ?? schemalessAPI) as A;
    this.#reconnect = options.reconnect
      ? {
        initialDelayMs: 250,
        maxDelayMs: 30_000,
        factor: 2,
        jitter: 0.5,
        maxAttempts: Infinity,
        ...(options.reconnect === true ? {} : options.reconnect),
      }
      : undefined;
    if (options.keepalive) {
      this.#pingCommand = options.keepalive.command ??
        Object.keys(this.#api.definition).find((c) => c.endsWith("-ping-request"));
      if (this.#pingCommand === undefined) {
        throw new TypeError("Cannot keep alive: no ping command (set keepalive.command)");
      }
    }
  }

  /** The server URL. */
  get url(): string {
    return this.#url;
  }

  /** Whether a connection is established and usable. */
  get isOnline(): boolean {
    return this.#state === "online";
  }

  /** How many times a connection has been established. */
  get connectCount(): number {
    return this.#connectCount;
  }

  /** Round-trip time of the last keepalive ping, in milliseconds. */
  get rtt(): number | undefined {
    return this.#rtt;
  }

  /** Pushes dropped because the queue was full. */
  get droppedPushes(): number {
    return this.#droppedPushes;
  }

  /** Calls waiting for their response. */
  get pendingCalls(): number {
    return this.#pending.size;
  }

  /**
   * Connects: dial, authenticator handshake, then the server's first message.
   * Resolves at once when already online; joins a connect in progress.
   *
   * @param options A `signal` to cancel.
   * @throws {ConnectionClosedError} When the server cannot be reached or closes the socket.
   * @throws {HandshakeError} When the authenticator's handshake fails, or the
   * server closes with 4100 (it refused the key) before its first message.
   * @throws {DOMException} `TimeoutError` when it takes longer than `connectTimeoutMs`.
   */
  async connect(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#state === "online") return;
    if (this.#state === "closed" || this.#state === "idle") this.#state = "connecting";
    clearTimeout(this.#reconnectTimer);
    this.#dialing ??= this.#dial().finally(() => this.#dialing = undefined);
    await (options.signal ? abortable(this.#dialing, options.signal) : this.#dialing);
  }

  /**
   * Sends a request and waits for its response.
   *
   * @param command A command of the API.
   * @param payload Its payload. `undefined` is sent as `{}`, as Go clients send
   * a request without parameters (Go servers in the tbcd style crash on a
   * `null` request); an explicit `null` is sent as `null`.
   * @param options `timeoutMs`, `signal`, `rejectErrors`.
   * @returns The response's payload.
   * @throws {ProtocolError} When the response payload carries `error` (unless `rejectErrors` is false).
   * @throws {ConnectionClosedError} When the socket closes first, or the client is not connected.
   * @throws {InvalidCommandError} When the response is not a valid message of
   * the API, or is not the request's response command (`x-request` must be
   * answered by `x-response` when the API has it); the connection stays up.
   * @throws {DOMException} `TimeoutError` after the timeout; the signal's reason when aborted.
   */
  call<C extends CommandOf<A>>(
    command: C,
    payload: PayloadOf<A, C>,
    options: CallOptions = {},
  ): Promise<PayloadOf<A, ResponseCommandOf<A, C>>> {
    if (payload === undefined) payload = {} as PayloadOf<A, C>;
    if (this.#state !== "online" || options.signal !== undefined) {
      return this.#callWaiting(command, payload, options);
    }
    // The common case, online and without a caller's signal: no timer of its
    // own (one shared timer covers the earliest deadline), no listeners, no
    // promise besides the call's own. When the buffer is full the request
    // waits its turn in the socket's write queue, and is dropped there if the
    // call has settled (timed out) by then.
    const ms = options.timeoutMs ?? this.#options.callTimeoutMs ?? 60_000;
    const rejectErrors = options.rejectErrors ?? this.#options.rejectErrors ?? true;
    const ws = this.#ws!;
    const id = this.#newID();
    return new Promise((resolve, reject) => {
      const call: PendingCall = {
        response: this.#responseCommand(command),
        resolve: resolve as (payload: unknown) => void,
        reject,
        rejectErrors,
      };
      if (ms > 0 && Number.isFinite(ms)) {
        call.deadline = performance.now() + ms;
        call.expire = () => {
          const error = new DOMException(
            `Call ${JSON.stringify(command)} timed out after ${ms} ms`,
            "TimeoutError",
          );
          reject(error);
        };
      }
      this.#pending.set(id, call);
      if (call.deadline !== undefined) this.#armSweep(call.deadline);
      const fail = (error: unknown) => {
        if (this.#pending.get(id) === call) this.#forget(id);
        reject(error);
      };
      try {
        this.#options.onMessage?.("send", messageOf(command, id, payload));
        const text = encodeMessage(command, id, payload);
        if (!ws.sendText(text)) {
          ws.queueText(text, () => this.#pending.get(id) !== call, fail);
        }
      } catch (error) {
        fail(error);
      }
    });
  }

  /** Removes a pending call; stops the shared timer when none is left. */
  #forget(id: string): void {
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#stopSweep();
  }

  #stopSweep(): void {
    clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
    this.#sweepAt = Infinity;
  }

  /** Makes sure the shared timer fires by `at`. */
  #armSweep(at: number): void {
    if (at >= this.#sweepAt) return;
    clearTimeout(this.#sweepTimer);
    this.#sweepAt = at;
    // A deadline past the timer limit: the sweep wakes early, finds nothing due and re-arms.
    const delay = Math.min(MAX_TIMER_DELAY, Math.max(0, at - performance.now()));
    this.#sweepTimer = setTimeout(() => this.#sweep(), delay);
  }

  /** Times out the calls whose deadline has passed; sets the timer for the next. */
  #sweep(): void {
    this.#sweepTimer = undefined;
    this.#sweepAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [id, call] of this.#pending) {
      if (call.deadline === undefined) continue;
      if (call.deadline <= now) {
        this.#pending.delete(id);
        call.expire!();
      } else if (call.deadline < next) next = call.deadline;
    }
    if (next < Infinity) this.#armSweep(next);
  }

  /** `call` while connecting or reconnecting, or with a caller's signal. */
  async #callWaiting<C extends CommandOf<A>>(
    command: C,
    payload: PayloadOf<A, C>,
    options: CallOptions,
  ): Promise<PayloadOf<A, ResponseCommandOf<A, C>>> {
    const timeout = deadline(
      options.timeoutMs ?? this.#options.callTimeoutMs ?? 60_000,
      `Call ${JSON.stringify(command)}`,
      options.signal,
    );
    const id = this.#newID();
    try {
      const ws = this.#state === "online" ? this.#ws! : await this.#waitOnline(timeout.signal);
      const response = new Promise<unknown>((resolve, reject) => {
        this.#pending.set(id, {
          response: this.#responseCommand(command),
          resolve,
          reject,
          rejectErrors: options.rejectErrors ?? this.#options.rejectErrors ?? true,
        });
      });
      this.#options.onMessage?.("send", messageOf(command, id, payload));
      await ws.writeText(encodeMessage(command, id, payload), timeout.signal);
      return await abortable(response, timeout.signal) as PayloadOf<A, ResponseCommandOf<A, C>>;
    } finally {
      timeout.clear();
      this.#forget(id);
    }
  }

  /**
   * Reads the next push: a message without an id, or whose id matches no
   * pending call. While reconnecting it waits for the next connection.
   *
   * @param options A `signal` to cancel the wait.
   * @returns The push's command, id and payload.
   * @throws {InvalidCommandError} When that message was not valid for the API (the connection stays up).
   * @throws {ConnectionClosedError} When closed, or dropped without reconnect.
   */
  async read(options: { signal?: AbortSignal } = {}): Promise<Incoming<A>> {
    const entry = await this.#nextPush(options.signal);
    if (entry.error !== undefined) throw entry.error;
    return entry.message as Incoming<A>;
  }

  /**
   * Reads the next push as the raw JSON document, undecoded; shares the push
   * queue with `read`.
   *
   * @param signal Cancels the wait.
   * @returns The message as received.
   * @throws {ConnectionClosedError} As `read` does.
   */
  async readJSON(signal?: AbortSignal): Promise<unknown> {
    return (await this.#nextPush(signal)).raw;
  }

  /**
   * Writes one message without waiting for an answer (Go `Write`).
   *
   * @param command A command of the API.
   * @param payload Its payload.
   * @param options `id` (default `""`: a push) and a `signal`.
   * @throws {InvalidCommandError} When the API does not define `command`.
   * @throws {ConnectionClosedError} When not connected.
   */
  async write<C extends CommandOf<A>>(
    command: C,
    payload: PayloadOf<A, C>,
    options: { id?: string; signal?: AbortSignal } = {},
  ): Promise<void> {
    if (!this.#api.has(command)) {
      throw new InvalidCommandError(`unknown command ${JSON.stringify(command)}`, { command });
    }
    await this.writeJSON(messageOf(command, options.id ?? "", payload), options.signal);
  }

  /**
   * Writes one raw JSON document on the current socket.
   *
   * @param value The document.
   * @param signal Cancels a wait for buffer space.
   * @throws {ConnectionClosedError} When not connected.
   */
  async writeJSON(value: unknown, signal?: AbortSignal): Promise<void> {
    const ws = this.#ws;
    if (ws === undefined || this.#state !== "online") throw this.#notConnected();
    this.#options.onMessage?.("send", value);
    await ws.writeJSON(value, signal);
  }

  /**
   * Closes the connection and stops reconnecting; idempotent. Pending calls
   * reject with a {@linkcode ConnectionClosedError} carrying `code` and
   * `reason`. Resolves once the socket has closed (at most 2 s).
   *
   * @param code The close code.
   * @param reason The close reason.
   */
  async close(code = 1000, reason = ""): Promise<void> {
    const ws = this.#ws;
    const wasClosed = this.#state === "closed";
    this.#state = "closed";
    this.#ws = undefined;
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#keepaliveTimer);
    const error = new ConnectionClosedError(code, reason);
    this.#dialAbort?.abort(error);
    this.#lastError = error;
    this.#failPending(error);
    this.#wakeAll();
    if (ws === undefined) return;
    ws.close(code, reason);
    if (!wasClosed) this.#options.onDisconnect?.(error);
    await settledWithin(ws.closed, 2_000, undefined);
  }

  /**
   * Closes with a status (Go `CloseStatus`); the same as `close`.
   *
   * @param code The close code.
   * @param reason The close reason.
   */
  async closeStatus(code: number, reason: string): Promise<void> {
    await this.close(code, reason);
  }

  /** Closes the connection: `await using conn = new Conn(url)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Iterates over pushes until the connection is closed with `close()`.
   *
   * @returns An iterator of pushes.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<Incoming<A>> {
    for (;;) {
      try {
        yield await this.read();
      } catch (error) {
        if (this.#state === "closed" && error instanceof ConnectionClosedError) return;
        throw error;
      }
    }
  }

  async #dial(): Promise<void> {
    const options = this.#options;
    // close() aborts a dial in progress.
    const abort = this.#dialAbort = new AbortController();
    const timeout = deadline(
      options.connectTimeoutMs ?? WS_CONNECT_TIMEOUT_MS,
      "Connect",
      abort.signal,
    );
    const socket = this.#openSocket();
    const ws = new FrameSocket(socket, {
      readLimit: options.readLimit ?? DEFAULT_READ_LIMIT,
      ...(options.maxDepth === undefined ? {} : { maxDepth: options.maxDepth }),
    });
    try {
      await abortable(this.#opened(socket, ws), timeout.signal);
      if (options.authenticator) await this.#handshake(ws, timeout.signal);
      // The server always sends one message first (the ping with id "0"); as
      // the Go client does, read and discard it before reporting success.
      const first = await ws.readJSON(timeout.signal).catch((error) => {
        // A 4100 close instead of that message is a refusal after the
        // handshake (the server's `authorize`): report it as one.
        if (!(error instanceof ConnectionClosedError) || error.code !== STATUS_HANDSHAKE_ERR) {
          throw error;
        }
        throw new HandshakeError(`failed to handshake with server: ${error.message}`, {
          cause: error,
        });
      });
      options.onMessage?.("receive", first);
    } catch (error) {
      ws.close(1000, "");
      this.#lastError = error as Error;
      if (this.#state === "connecting") this.#state = "idle";
      // Calls waiting through a reconnect keep waiting for the next attempt,
      // whoever started this one (the backoff timer or a user's connect()).
      if (this.#state === "reconnecting") this.#scheduleReconnect();
      else this.#wakeAll();
      throw error;
    } finally {
      timeout.clear();
    }
    if (this.#state === "closed") {
      ws.close(1000, "");
      throw this.#lastError ?? new ConnectionClosedError(1000, "");
    }
    this.#ws = ws;
    this.#state = "online";
    this.#connectCount++;
    this.#attempt = 0;
    for (const wake of this.#onlineWaiters) wake();
    this.#onlineWaiters.clear();
    this.#scheduleKeepalive(ws);
    options.onConnect?.();
    ws.listen({
      value: (raw, length) => {
        try {
          this.#receive(raw, length);
        } catch (error) {
          // Only a user's onMessage hook can throw here; never into the socket's event handler.
          ws.close(1011, "client error");
          this.#dropped(ws, error);
        }
      },
      end: (error) => this.#dropped(ws, error),
    });
  }

  #openSocket(): WebSocketLike {
    const { headers, protocols, webSocket } = this.#options;
    const init: { headers?: Record<string, string>; protocols?: string | string[] } = {};
    if (headers !== undefined) init.headers = headers;
    if (protocols !== undefined) init.protocols = protocols;
    if (webSocket) return webSocket(this.#url, init);
    if (headers === undefined) return new WebSocket(this.#url, protocols);
    // Deno and Bun accept an options object with headers (non-standard).
    return new (WebSocket as unknown as new (url: string, init: unknown) => WebSocket)(
      this.#url,
      init,
    );
  }

  #opened(socket: WebSocketLike, ws: FrameSocket): Promise<void> {
    if (socket.readyState === 1) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let detail = "";
      socket.addEventListener("error", (e) => {
        detail = (e as ErrorEvent).message ?? "";
      });
      socket.addEventListener("open", () => resolve());
      ws.closed.then(({ code, reason }) => {
        const why = detail ||
          (reason ? `closed ${code} ${JSON.stringify(reason)}` : "connection failed");
        reject(
          new ConnectionClosedError(code, reason, {
            message: `Cannot connect to ${this.#url}: ${why}`,
          }),
        );
      });
    });
  }

  async #handshake(ws: FrameSocket, signal: AbortSignal): Promise<void> {
    const timeout = deadline(
      this.#options.handshakeTimeoutMs ?? WS_HANDSHAKE_TIMEOUT_MS,
      "Handshake",
      signal,
    );
    try {
      await abortable(
        this.#options.authenticator!.handshakeClient(ws, timeout.signal),
        timeout.signal,
      );
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new HandshakeError(`failed to handshake with server: ${detail}`, { cause: error });
    } finally {
      timeout.clear();
    }
  }

  /**
   * One incoming message, delivered synchronously from the socket's message
   * event. Responses settle their call; everything else is a push. While an
   * asynchronous schema is validating, later messages wait behind it so they
   * are handled in arrival order.
   */
  #receive(raw: unknown, length: number): void {
    this.#options.onMessage?.("receive", raw);
    let decoded: Incoming | Promise<Incoming> | undefined;
    let error: unknown;
    try {
      decoded = decodeMessage(this.#api, raw);
    } catch (e) {
      error = e;
    }
    if (this.#decoding === 0 && !(decoded instanceof Promise)) {
      this.#settle(raw, length, decoded, error);
      return;
    }
    this.#decoding++;
    this.#decoded = this.#decoded
      .then(() => decoded)
      .then(
        (message) => this.#settle(raw, length, message, error),
        (e) => this.#settle(raw, length, undefined, e),
      )
      .finally(() => this.#decoding--);
  }

  #settle(raw: unknown, length: number, message: Incoming | undefined, error: unknown): void {
    const id = message?.id ?? (error instanceof InvalidCommandError ? error.id : undefined);
    const pending = id ? this.#pending.get(id) : undefined;
    if (pending === undefined) {
      const size = length + PUSH_OVERHEAD;
      this.#queuePush(
        error === undefined ? { raw, size, message: message! } : { raw, size, error },
      );
      return;
    }
    this.#forget(id!);
    if (error !== undefined) pending.reject(error);
    else if (pending.response !== undefined && message!.command !== pending.response) {
      // As a Go client's Call ends with whatever answers its id, and its caller
      // refuses a command it did not ask for: the call fails, nothing hangs.
      pending.reject(
        new InvalidCommandError(
          `response ${JSON.stringify(message!.command)} to call ${id}, expected ${
            JSON.stringify(pending.response)
          }`,
          { command: message!.command, id: id! },
        ),
      );
    } else {
      const wireError = pending.rejectErrors ? errorIn(message!.payload) : undefined;
      if (wireError) pending.reject(wireError);
      else pending.resolve(message!.payload);
    }
  }

  /** The socket `ws` ended on its own (not by `close()`). */
  #dropped(ws: FrameSocket, failure: unknown): void {
    if (this.#ws !== ws) return;
    this.#ws = undefined;
    clearTimeout(this.#keepaliveTimer);
    const error = failure instanceof ConnectionClosedError
      ? failure
      : new ConnectionClosedError(1006, "", { cause: failure });
    this.#lastError = error;
    this.#failPending(error);
    this.#state = this.#reconnect ? "reconnecting" : "idle";
    this.#options.onDisconnect?.(error);
    if (this.#reconnect) this.#scheduleReconnect();
    else this.#wakeAll();
  }

  #scheduleReconnect(): void {
    const r = this.#reconnect!;
    if (this.#state !== "reconnecting") return;
    if (this.#attempt >= r.maxAttempts) {
      this.#state = "idle";
      this.#wakeAll();
      return;
    }
    const base = Math.min(r.maxDelayMs, r.initialDelayMs * r.factor ** this.#attempt++);
    const delay = base * (1 - r.jitter * Math.random());
    this.#reconnectTimer = setTimeout(() => {
      if (this.#state !== "reconnecting") return;
      this.#dialing ??= this.#dial().finally(() => this.#dialing = undefined);
      this.#dialing.catch(() => {}); // #dial schedules the next attempt
    }, delay);
  }

  #scheduleKeepalive(ws: FrameSocket): void {
    const keepalive = this.#options.keepalive;
    if (!keepalive) return;
    this.#keepaliveTimer = setTimeout(async () => {
      if (this.#ws !== ws) return;
      const start = performance.now();
      try {
        await this.call(
          this.#pingCommand as CommandOf<A>,
          { timestamp: Math.floor(Date.now() / 1000) } as PayloadOf<A, CommandOf<A>>,
          { timeoutMs: keepalive.timeoutMs ?? 10_000 },
        );
        this.#rtt = performance.now() - start;
        this.#scheduleKeepalive(ws);
      } catch (error) {
        if (this.#ws === ws && (error as Error)?.name === "TimeoutError") {
          ws.close(1001, "keepalive timeout");
        } else if (this.#ws === ws) {
          this.#scheduleKeepalive(ws);
        }
      }
    }, keepalive.intervalMs ?? 30_000);
  }

  #waitOnline(signal: AbortSignal): Promise<FrameSocket> {
    if (this.#state !== "connecting" && this.#state !== "reconnecting") {
      return Promise.reject(this.#notConnected());
    }
    return abortable(
      new Promise<void>((resolve) => this.#onlineWaiters.add(resolve)),
      signal,
    ).then(() => {
      if (this.#state !== "online") throw this.#notConnected();
      return this.#ws!;
    });
  }

  async #nextPush(signal?: AbortSignal): Promise<PushEntry> {
    for (;;) {
      const entry = this.#pushes.shift();
      if (entry !== undefined) {
        this.#pushBytes -= entry.size;
        return entry;
      }
      if (this.#state === "closed" || this.#state === "idle") throw this.#notConnected();
      signal?.throwIfAborted();
      let wake!: () => void;
      const woken = new Promise<void>((resolve) => wake = resolve);
      this.#pushWaiters.add(wake);
      try {
        await (signal ? abortable(woken, signal) : woken);
      } finally {
        this.#pushWaiters.delete(wake);
      }
    }
  }

  #queuePush(entry: PushEntry): void {
    const limit = this.#options.pushQueueSize ?? 1024;
    const byteLimit = this.#options.pushQueueBytes ?? DEFAULT_PUSH_QUEUE_BYTES;
    this.#pushes.push(entry);
    this.#pushBytes += entry.size;
    while (
      this.#pushes.length > 1 && (this.#pushes.length > limit || this.#pushBytes > byteLimit)
    ) {
      this.#pushBytes -= this.#pushes.shift()!.size;
      this.#droppedPushes++;
    }
    const [wake] = this.#pushWaiters;
    if (wake) {
      this.#pushWaiters.delete(wake);
      wake();
    }
  }

  #failPending(error: Error): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#stopSweep();
    for (const call of pending) call.reject(error);
  }

  #wakeAll(): void {
    for (const wake of this.#pushWaiters) wake();
    this.#pushWaiters.clear();
    for (const wake of this.#onlineWaiters) wake();
    this.#onlineWaiters.clear();
  }

  #notConnected(): Error {
    if (this.#lastError instanceof ConnectionClosedError) return this.#lastError;
    return new ConnectionClosedError(1006, "", {
      cause: this.#lastError,
    });
  }

  /** The response command of request `command` (`x-request` -> `x-response`), if the API has it. */
  #responseCommand(command: string): string | undefined {
    if (!command.endsWith("-request")) return undefined;
    const response = `${command.slice(0, -"request".length)}response`;
    return this.#api.has(response) ? response : undefined;
  }

  #newID(): string {
    // Go uses a uint64 counter that skips 0; a JS number wraps at 2^53.
    this.#nextID = this.#nextID >= Number.MAX_SAFE_INTEGER ? 1 : this.#nextID + 1;
    return String(this.#nextID);
  }
}

/** The `error` of a response payload as a {@linkcode ProtocolError}, if it carries one. */
function errorIn(payload: unknown): ProtocolError | undefined {
  if (payload === null || typeof payload !== "object") return undefined;
  const error = (payload as { error?: unknown }).error;
  if (error === undefined || error === null) return undefined;
  return ProtocolError.fromJSON(error);
}

function websocketURL(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SyntaxError(`Cannot connect: invalid URL ${JSON.stringify(String(url))}`);
  }
  if (parsed.protocol === "http:") parsed.protocol = "ws:";
  else if (parsed.protocol === "https:") parsed.protocol = "wss:";
  if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
    throw new SyntaxError(
      `Cannot connect: URL scheme must be ws: or wss:, got ${JSON.stringify(parsed.protocol)}`,
    );
  }
  return parsed.href;
}
