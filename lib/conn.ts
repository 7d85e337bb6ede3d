/**
 * `Conn`: the protocol's client. Connects with timeouts, runs the
 * authenticator, correlates calls by id, queues pushes, reconnects. This file
 * holds the public API and the call's fast path; the parts are units of their
 * own: options (`conn_options.ts`), the connection's state machine, drops and
 * reconnects (`_link.ts`), dialing (`_dial.ts`), calls that wait for the
 * connection (`_waiting_call.ts`), the call table (`_call_table.ts`), the inbox
 * (`_inbox.ts`), the push queue (`_push_queue.ts`), backoff (`_backoff.ts`) and
 * keepalive (`_keepalive.ts`).
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
import { CallTable } from "./_call_table.ts";
import type { CallOptions, ConnOptions } from "./conn_options.ts";
import { websocketURL } from "./_dial.ts";
import { Inbox } from "./_inbox.ts";
import { Keepalive, pingCommandOf } from "./_keepalive.ts";
import { PushQueue } from "./_push_queue.ts";
import { CloseCode, ConnectionClosedError, InvalidCommandError } from "./errors.ts";
import { encodeMessage, type Incoming, messageOf } from "./framing.ts";
import type { APIConn } from "./message.ts";
import { ClientExtensions } from "./_client_extensions.ts";
import { DESCRIBE_REQUEST, type Description } from "./_describe.ts";
import { Link } from "./_link.ts";
import { waitingCall } from "./_waiting_call.ts";

export type {
  CallOptions,
  ConnOptions,
  KeepaliveOptions,
  ReconnectOptions,
  WebSocketFactory,
} from "./conn_options.ts";

const NO_CALL_OPTIONS: CallOptions = Object.freeze({});
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
 * @example Calls, an error payload, a push and a drop, over an in-memory socket
 * ```ts
 * import { Conn, ConnectionClosedError, ProtocolError } from "@wsrpc/protocol";
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
 * // The server speaks first: its ping with id "0".
 * setTimeout(() => socket.receive({ header: { command: "x-ping-request", id: "0" } }));
 * const conn = new Conn("ws://in-memory.test/", { webSocket: () => socket });
 * await conn.connect();
 * const echo = conn.call("x-echo-request", "hi"); // id "1"
 * const fail = conn.call("x-fail-request", {}); // id "2"
 * const hang = conn.call("x-hang-request", {}); // id "3", never answered
 * assert.deepEqual(socket.sent.map((frame) => JSON.parse(frame).header.id), ["1", "2", "3"]);
 * // Answers in any order, and a push (no id).
 * socket.receive({ header: { command: "x-fail-response", id: "2" }, payload: { error: { message: "no" } } });
 * socket.receive({ header: { command: "x-echo-response", id: "1" }, payload: "hi" });
 * socket.receive({ header: { command: "x-tick-notification" }, payload: 7 });
 * assert.equal(await echo, "hi");
 * await assert.rejects(fail, (e) => e instanceof ProtocolError && e.message === "no");
 * assert.deepEqual(await conn.read(), { command: "x-tick-notification", id: "", payload: 7 });
 * socket.close(1011, "server failed"); // the connection drops: pending calls reject at once
 * await assert.rejects(hang, (e) => e instanceof ConnectionClosedError && e.code === 1011);
 * assert.equal(conn.isOnline, false);
 * ```
 */
export class Conn<A extends API = typeof schemalessAPI>
  implements APIConn, AsyncDisposable, AsyncIterable<Incoming<A>> {
  readonly #api: A;
  readonly #options: ConnOptions<A>;
  readonly #keepalive: Keepalive | undefined;
  readonly #calls: CallTable;
  readonly #pushes: PushQueue;
  readonly #extensions: ClientExtensions;
  /** The connection: its state machine, dial, drops and reconnects. */
  readonly #link: Link;

  /**
   * Makes a client; nothing happens on the network until `connect()`.
   *
   * @param url A `ws:` or `wss:` URL.
   * @param options Timeouts, API, authenticator, reconnect and keepalive.
   * @throws {SyntaxError} When `url` is not a `ws:`/`wss:` URL (`http:` and `https:` are accepted and mapped).
   * @throws {TypeError} When keepalive is on but no ping command is known.
   */
  constructor(url: string | URL, options: ConnOptions<A> = {}) {
    const href = websocketURL(url);
    this.#options = options;
    this.#api = (options.api ?? schemalessAPI) as A;
    const calls = this.#calls = new CallTable(this.#api);
    const pushes = this.#pushes = new PushQueue(options.pushQueueSize, options.pushQueueBytes);
    const extensions = this.#extensions = new ClientExtensions(
      options.extensions,
      options.trace,
      calls,
      options.onTopicGap,
    );
    if (options.keepalive) {
      const ping = pingCommandOf(Object.keys(this.#api.definition), options.keepalive.command);
      this.#keepalive = new Keepalive(options.keepalive, {
        ping: (timeoutMs) =>
          this.call(ping as CommandOf<A>, { timestamp: Math.floor(Date.now() / 1000) } as never, {
            timeoutMs,
          }),
        expire: () => this.#link.ws?.close(CloseCode.GoingAway, "keepalive timeout"),
      });
    }
    const inbox = new Inbox(this.#api, calls, pushes);
    const keepalive = this.#keepalive;
    this.#link = new Link(href, options, { calls, extensions, inbox, pushes, keepalive });
    calls.onTimeout = (call) => this.#link.cancel(this.#link.ws, call.id);
  }

  /** The server URL. */
  get url(): string {
    return this.#link.url;
  }

  /** Whether a connection is established and usable. */
  get isOnline(): boolean {
    return this.#link.state === "online";
  }

  /** How many times a connection has been established. */
  get connectCount(): number {
    return this.#link.connectCount;
  }

  /** Round-trip time of the last keepalive ping, in milliseconds. */
  get rtt(): number | undefined {
    return this.#keepalive?.rtt;
  }

  /** Pushes dropped because the queue was full. */
  get droppedPushes(): number {
    return this.#pushes.dropped;
  }

  /**
   * The wsrpc extensions negotiated on the current connection: those the
   * server offered on its first message that this client accepted (see
   * `ConnOptions.extensions`). Empty with a Go server, which offers none.
   */
  get extensions(): readonly string[] {
    return this.#extensions.accepted;
  }

  /**
   * The last position seen per topic ("topics" extension): the topics this
   * client resumes after a reconnect, possibly to another instance, where
   * the server replays what it missed (or reports a gap to `onTopicGap`).
   * Empty against a server that does not offer "topics" (a Go server).
   */
  get topicPositions(): ReadonlyMap<string, { seq: number; epoch: string }> {
    return this.#extensions.topics.positions;
  }

  /**
   * Stops resuming a topic after reconnects (call it when unsubscribing).
   *
   * @param topic The topic.
   */
  forgetTopic(topic: string): void {
    this.#extensions.topics.forget(topic);
  }

  /** Calls waiting for their response. */
  get pendingCalls(): number {
    return this.#calls.size;
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
    await this.#link.connect(options.signal);
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
    // A shared empty default: no options object allocated per call.
    options: CallOptions = NO_CALL_OPTIONS,
  ): Promise<PayloadOf<A, ResponseCommandOf<A, C>>> {
    if (payload === undefined) payload = {} as PayloadOf<A, C>;
    const ws = this.#link.ws;
    if (ws === undefined || options.signal !== undefined) {
      return waitingCall(this.#link, command, payload, options) as Promise<
        PayloadOf<A, ResponseCommandOf<A, C>>
      >;
    }
    // The common case, online and without a caller's signal: no timer of its
    // own (one shared timer covers the earliest deadline), no listeners, no
    // promise besides the call's own. When the buffer is full the request
    // waits its turn in the socket's write queue, and is dropped there if the
    // call has settled (timed out) by then.
    const ms = options.timeoutMs ?? this.#options.callTimeoutMs ?? 60_000;
    const rejectErrors = options.rejectErrors ?? this.#options.rejectErrors ?? true;
    const calls = this.#calls;
    const id = calls.newID();
    const call = calls.open(id, command, rejectErrors, ms);
    try {
      this.#options.onMessage?.("send", messageOf(command, id, payload));
      const text = this.#extensions.tracing
        ? this.#extensions.encode(command, id, payload, options)
        : encodeMessage(command, id, payload);
      if (!ws.sendText(text)) {
        ws.queueText(text, () => !calls.holds(call), (error) => calls.fail(call, error));
      }
    } catch (error) {
      calls.fail(call, error);
    }
    return call.promise as Promise<PayloadOf<A, ResponseCommandOf<A, C>>>;
  }

  /**
   * Asks the server to describe itself (the `describe` extension): its
   * commands, their kinds, and a JSON Schema of each payload where it has
   * one. With `command`, only that command.
   *
   * @param command One command to describe.
   * @param options `timeoutMs`, `signal`.
   * @returns The description.
   * @throws {ProtocolError} When the server does not know `command`.
   * @throws {TypeError} When the server did not offer `describe` (a Go server never does).
   */
  describe(command?: string, options: CallOptions = {}): Promise<Description> {
    if (!this.#extensions.accepted.includes("describe")) {
      return Promise.reject(
        new TypeError("Cannot describe: the server does not offer the describe extension"),
      );
    }
    // Ids of their own, so that the user's calls stay numbered "1", "2", ...
    return waitingCall(
      this.#link,
      DESCRIBE_REQUEST,
      command === undefined ? {} : { command },
      { ...options, rejectErrors: true },
      this.#extensions.describeID(),
    ) as Promise<Description>;
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
    const entry = await this.#pushes.next(options.signal, this.#link.readEnded);
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
    return (await this.#pushes.next(signal, this.#link.readEnded)).raw;
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
    const ws = this.#link.ws;
    if (ws === undefined) throw this.#link.notConnected();
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
  async close(code: number = CloseCode.Normal, reason = ""): Promise<void> {
    await this.#link.close(code, reason);
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
        if (this.#link.state === "closed" && error instanceof ConnectionClosedError) return;
        throw error;
      }
    }
  }
}
