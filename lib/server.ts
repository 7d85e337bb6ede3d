/**
 * The runtime-neutral server: routes commands to typed handlers, runs the
 * authenticator, enforces limits, and shuts down gracefully. Runtime adapters
 * (`@wsrpc/protocol/deno`, ...) only upgrade the request and hand it the
 * socket.
 *
 * @module
 */

import type { API, CommandOf, PayloadOf, RequestCommandOf, ResponseCommandOf } from "./api.ts";
import { abortable, deadline, settledWithin } from "./_deadline.ts";
import {
  ConnectionClosedError,
  HandshakeError,
  InternalError,
  InvalidCommandError,
  ProtocolError,
  PUBLIC_KEY_AUTH_ERROR,
  requestErrorf,
  STATUS_HANDSHAKE_ERR,
} from "./errors.ts";
import { decodeMessage, encodeMessage, type Incoming } from "./framing.ts";
import {
  type Authenticator,
  DEFAULT_READ_LIMIT,
  type PeerIdentity,
  WS_HANDSHAKE_TIMEOUT_MS,
} from "./message.ts";
import { type WebSocketLike, WSConn } from "./ws_conn.ts";
import { type FrameListener, listenFrames } from "./_frame_listener.ts";
import { randomTrace } from "./_bytes.ts";
import { safeLines, safeText } from "./_safe_text.ts";

/**
 * What a handler knows about its request.
 *
 * @typeParam A The server's API.
 *
 * @example What a handler sees of its request
 * ```ts
 * import { Server, type RequestContext } from "@wsrpc/protocol";
 * import { demoAPI } from "@wsrpc/protocol/demo";
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
 * const describe = (_payload: unknown, ctx: RequestContext<typeof demoAPI>) =>
 *   `${ctx.command} #${ctx.id} from ${ctx.session.remoteAddr}, aborted: ${ctx.signal.aborted}`;
 * const server = new Server(demoAPI, { handlers: { "demo-echo-request": describe } });
 * const socket = new FakeSocket();
 * const served = server.serveSocket(socket, { remoteAddr: "192.0.2.7:50000" });
 * socket.receive({ header: { command: "demo-echo-request", id: "7" }, payload: null });
 * await new Promise((resolve) => setTimeout(resolve, 0)); // let the server answer
 * assert.deepEqual(JSON.parse(socket.sent[1]!), {
 *   header: { command: "demo-echo-response", id: "7" },
 *   payload: "demo-echo-request #7 from 192.0.2.7:50000, aborted: false",
 * });
 * socket.close();
 * await served;
 * ```
 */
export interface RequestContext<A extends API = API> {
  /** The request id. */
  readonly id: string;
  /** The request command. */
  readonly command: CommandOf<A>;
  /** Aborts when the request times out, the client goes away, or the server shuts down. */
  readonly signal: AbortSignal;
  /** The connection the request came on; `session.push` sends notifications. */
  readonly session: Session<A>;
}

/**
 * Handles one request command and returns the response payload. Throw a
 * {@linkcode ProtocolError} (e.g. `requestErrorf`, `notFoundError`) to answer
 * with that error; anything else thrown becomes an {@linkcode InternalError}:
 * logged with a trace, the client sees only `internal error` and the trace.
 *
 * @typeParam A The server's API.
 * @typeParam C The request command.
 *
 * @example A typed handler: its return value, or the error it throws, is the response
 * ```ts
 * import { defineAPI, requestErrorf, Server, unchecked, type Handler } from "@wsrpc/protocol";
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
 * const api = defineAPI({
 *   "x-ping-request": unchecked<{ timestamp: number }>(),
 *   "x-ping-response": unchecked<{ origintimestamp: number; timestamp: number }>(),
 *   "x-upper-request": unchecked<string>(),
 *   "x-upper-response": unchecked<string>(),
 * });
 * const upper: Handler<typeof api, "x-upper-request"> = (text) => {
 *   if (text === "") throw requestErrorf("nothing to upper-case");
 *   return text.toUpperCase();
 * };
 * const server = new Server(api, { handlers: { "x-upper-request": upper } });
 * const socket = new FakeSocket();
 * const served = server.serveSocket(socket);
 * socket.receive({ header: { command: "x-upper-request", id: "1" }, payload: "hi" });
 * socket.receive({ header: { command: "x-upper-request", id: "2" }, payload: "" });
 * await new Promise((resolve) => setTimeout(resolve, 0)); // let the server answer
 * const [, first, second] = socket.sent.map((frame) => JSON.parse(frame).payload);
 * assert.equal(first, "HI");
 * assert.equal(second.error.message, "nothing to upper-case");
 * socket.close();
 * await served;
 * ```
 */
export type Handler<A extends API, C extends CommandOf<A>> = (
  payload: PayloadOf<A, C>,
  context: RequestContext<A>,
) =>
  | PayloadOf<A, ResponseCommandOf<A, C>>
  | Promise<PayloadOf<A, ResponseCommandOf<A, C>>>;

/**
 * Request command to handler. Each `x-request` is answered with `x-response`.
 *
 * @typeParam A The server's API.
 *
 * @example Routing: each request to its handler, answered with its response command
 * ```ts
 * import { defineAPI, Server, unchecked, type Handlers, type PingRequest, type PingResponse } from "@wsrpc/protocol";
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
 * const api = defineAPI({
 *   "x-ping-request": unchecked<PingRequest>(),
 *   "x-ping-response": unchecked<PingResponse>(),
 *   "x-quit-request": unchecked<null>(), // no handler for it
 *   "x-quit-response": unchecked<null>(),
 * });
 * const handlers: Handlers<typeof api> = {
 *   "x-ping-request": ({ timestamp }) => ({ origintimestamp: timestamp, timestamp: 2 }),
 * };
 * const server = new Server(api, { handlers });
 * const socket = new FakeSocket();
 * const served = server.serveSocket(socket);
 * const [session] = server.sessions.values();
 * socket.receive({ header: { command: "x-ping-request", id: "1" }, payload: { timestamp: 1 } });
 * socket.receive({ header: { command: "x-quit-request", id: "2" }, payload: null });
 * await served;
 * assert.deepEqual(JSON.parse(socket.sent[1]!), {
 *   header: { command: "x-ping-response", id: "1" },
 *   payload: { origintimestamp: 1, timestamp: 2 },
 * });
 * // A request without a handler is not answered: it closes the connection.
 * assert.equal(socket.sent.length, 2);
 * assert.deepEqual(await session?.closed, {
 *   code: 1008,
 *   reason: 'invalid command: no handler for "x-quit-request"',
 * });
 * ```
 */
export type Handlers<A extends API> = {
  [C in RequestCommandOf<A>]?: Handler<A, C>;
};

/**
 * Options for {@linkcode Server}.
 *
 * @typeParam A The server's API.
 *
 * @example
 * ```ts
 * import { Server, type ServerOptions } from "@wsrpc/protocol";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 * import assert from "node:assert/strict";
 *
 * const options: ServerOptions<typeof demoAPI> = {
 *   handlers: demoHandlers,
 *   maxInFlight: 16,
 *   origins: ["https://app.example"],
 * };
 * const server = new Server(demoAPI, options);
 * const upgrade = (origin: string) =>
 *   new Request("http://localhost/v1/ws", {
 *     headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-version": "13",
 *       "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", origin },
 *   });
 * assert.equal(server.checkRequest(upgrade("https://app.example")), undefined); // allowed
 * assert.equal(server.checkRequest(upgrade("https://evil.example"))?.status, 403);
 * ```
 */
export interface ServerOptions<A extends API = API> {
  /** The request handlers. */
  handlers: Handlers<A>;
  /** Runs a handshake (such as ed25519) on each connection before traffic. */
  authenticator?: Authenticator;
  /**
   * Decides whether an authenticated session may proceed; refused sessions
   * are closed with 4100 `invalid public key`.
   */
  authorize?: (session: Session<A>) => boolean | Promise<boolean>;
  /**
   * The command of the ping sent first on every connection, with id "0".
   * By default the API's command ending in `-ping-request`.
   */
  pingCommand?: string;
  /**
   * Time a handler may take before the client gets a timeout error and the
   * handler's signal aborts; 0 for none.
   *
   * @default {60_000}
   */
  requestTimeoutMs?: number;
  /**
   * Requests one connection may have in flight; past it a request is answered
   * at once with the error `too many requests in flight`.
   *
   * @default {64}
   */
  maxInFlight?: number;
  /**
   * Open connections at most; past it upgrades get HTTP 503. A connection
   * the server has closed still counts until its socket has closed: a client
   * that stops reading keeps the close frame queued behind unsent data, and
   * its socket (with up to `writeHighWaterMark` of unsent data) stays open
   * until the client reads or goes away.
   *
   * @default {10_000}
   */
  maxConnections?: number;
  /**
   * Time for the authenticator's handshake; past it the connection is closed
   * with 4100.
   *
   * @default {15_000}
   */
  handshakeTimeoutMs?: number;
  /**
   * Time a connection may send nothing before it is closed with 1008
   * `idle timeout`; 0 for none.
   *
   * @default {0}
   */
  idleTimeoutMs?: number;
  /**
   * Largest incoming message, in bytes; larger closes with 1009.
   *
   * @default {512 * 1024}
   */
  readLimit?: number;
  /**
   * Deepest JSON nesting accepted; deeper closes with 1009.
   *
   * @default {64}
   */
  maxDepth?: number;
  /**
   * Unsent bytes per connection before writes wait for the client to read.
   *
   * @default {4 * 1024 * 1024}
   */
  writeHighWaterMark?: number;
  /**
   * How long the outgoing buffer may stay full without draining (the client
   * reads nothing) before that client is closed with 1008. A client that
   * keeps reading is never timed out.
   *
   * @default {30_000}
   */
  writeTimeoutMs?: number;
  /**
   * Bytes of requests a connection may have queued unread (during the
   * handshake, before the session reads them), each counted as its length
   * plus 64; past it the client is closed with 1008 `read queue full`. Once
   * serving, the server answers every request: what finds the outgoing
   * buffer full waits, within `writeQueueLimit`.
   *
   * @default {4 * 1024 * 1024}
   */
  readQueueLimit?: number;
  /**
   * Bytes of responses and pushes one connection may have waiting for room
   * in its outgoing buffer (each counted as its length plus 64). The runtime
   * receives a client's requests whether or not the server reads them, so a
   * client that pipelines far ahead of its reading is answered from memory,
   * up to this bound; past it the client is closed with 1008 `read queue
   * full`. A client holding at least `readQueueLimit` of them whose buffer
   * has not drained for a third of `writeTimeoutMs` (10 s) is closed the same
   * way when it would add more (it sends but does not read); one that stops
   * reading altogether is closed after `writeTimeoutMs` without progress.
   *
   * @default {256 * 1024 * 1024}
   */
  writeQueueLimit?: number;
  /**
   * Bytes of responses and pushes waiting across all connections. Past it,
   * a connection that holds at least `readQueueLimit` of them is closed with
   * 1008 `read queue full` when it would add more, so that many greedy
   * clients together cannot exhaust the process's memory while clients that
   * keep up are not touched.
   *
   * @default {512 * 1024 * 1024}
   */
  totalWriteQueueLimit?: number;
  /**
   * Browser origins allowed to connect (`"*"` for any). Without it, a request
   * that carries an `Origin` header must be same-origin (its host equal to
   * `Host`); requests without `Origin` (non-browser clients) are accepted.
   * Refused upgrades get HTTP 403.
   */
  origins?: string[];
  /**
   * Host names this server answers to: the `Host` header's name must be one
   * of them (any port; case-insensitive; IPv6 with or without brackets),
   * e.g. `["localhost", "127.0.0.1", "[::1]"]`. Other upgrades get HTTP 421
   * (Misdirected Request), checked before `Origin`: this stops DNS
   * rebinding, where an attacker's page re-resolves its own name to this
   * server, so that its `Origin` and `Host` agree and pass the same-origin
   * check. By default any host.
   */
  allowedHosts?: string[];
  /**
   * WebSocket subprotocols the server speaks, most preferred first. The first
   * of them that the client offers (`Sec-WebSocket-Protocol`) is selected and
   * echoed, as RFC 6455 §4.2.2 requires (browsers refuse a connection whose
   * offered protocols get no answer). A client offering none of them, or none
   * at all, is served without a subprotocol.
   *
   * @default {[]}
   */
  protocols?: string[];
  /**
   * Accept any `Origin`. Only safe when every endpoint authenticates in-band
   * (an authenticator) and nothing relies on cookies.
   *
   * @default {false}
   */
  insecureSkipOriginCheck?: boolean;
  /**
   * Logs errors the operator must see: internal errors (with their cause)
   * and traced protocol errors. Request errors are not logged.
   *
   * @default {console.error}
   */
  onError?: (error: Error, session: Session<A>) => void;
  /** Called when a session has passed the handshake and authorization. */
  onSessionOpen?: (session: Session<A>) => void;
  /** Called when a session ends, with the close status. */
  onSessionClose?: (session: Session<A>, status: { code: number; reason: string }) => void;
}

/**
 * What an adapter kept of a session across a restart of its process, for
 * {@linkcode Server.resumeSocket} (the Cloudflare adapter keeps it in the
 * socket's hibernation attachment).
 *
 * @example A session that passed its handshake before
 * ```ts
 * import type { ResumeState } from "@wsrpc/protocol/types";
 * import assert from "node:assert/strict";
 *
 * const state: ResumeState = { admitted: true, peer: { publicKey: "ab".repeat(32), userAgent: "cli/1" } };
 * assert.ok(state.admitted);
 * ```
 */
export interface ResumeState {
  /** The session was admitted before: serve it at once. */
  admitted?: boolean;
  /** The identity its handshake established. */
  peer?: PeerIdentity;
  /** Runs (or finishes) the handshake in place of `ServerOptions.authenticator`. */
  authenticator?: Authenticator;
  /** When the handshake began (ms since the epoch): it must end `handshakeTimeoutMs` after. */
  handshakeStartedAt?: number;
}

/**
 * Where a connection came from, as the adapter saw it.
 *
 * @example The adapter's info, on the session
 * ```ts
 * import { Server } from "@wsrpc/protocol";
 * import { type ConnectionInfo } from "@wsrpc/protocol/types";
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
 * const server = new Server(demoAPI, { handlers: demoHandlers });
 * const info: ConnectionInfo = {
 *   remoteAddr: "192.0.2.7:50000",
 *   request: new Request("http://localhost/v1/ws", { headers: { "user-agent": "cli/1" } }),
 * };
 * const socket = new FakeSocket();
 * const served = server.serveSocket(socket, info);
 * const [session] = server.sessions.values();
 * assert.equal(session?.remoteAddr, "192.0.2.7:50000");
 * assert.equal(session?.request?.headers.get("user-agent"), "cli/1");
 * socket.close();
 * await served;
 * assert.equal(server.sessions.size, 0);
 * ```
 */
export interface ConnectionInfo {
  /** The client's address, `host:port`. */
  remoteAddr?: string;
  /** The upgrade request. */
  request?: Request;
}

/**
 * One client connection on a {@linkcode Server}.
 *
 * @typeParam A The server's API.
 *
 * @example Pushing notifications from a handler
 * ```ts
 * import { defineAPI, Server, unchecked, type Handlers } from "@wsrpc/protocol";
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
 * const api = defineAPI({
 *   "x-ping-request": unchecked<{ timestamp: number }>(),
 *   "x-ping-response": unchecked<{ origintimestamp: number; timestamp: number }>(),
 *   "x-notify-request": unchecked<{ count: number }>(),
 *   "x-notify-response": unchecked<null>(),
 *   "x-event-notification": unchecked<{ seq: number }>(),
 * });
 * const handlers: Handlers<typeof api> = {
 *   "x-notify-request": async ({ count }, { session }) => {
 *     for (let seq = 1; seq <= count; seq++) await session.push("x-event-notification", { seq });
 *     return null;
 *   },
 * };
 * const server = new Server(api, { handlers });
 * const socket = new FakeSocket();
 * const served = server.serveSocket(socket);
 * socket.receive({ header: { command: "x-notify-request", id: "1" }, payload: { count: 2 } });
 * await new Promise((resolve) => setTimeout(resolve, 0)); // let the server answer
 * assert.deepEqual(socket.sent.slice(1), [
 *   '{"header":{"command":"x-event-notification"},"payload":{"seq":1}}', // a push: no id
 *   '{"header":{"command":"x-event-notification"},"payload":{"seq":2}}',
 *   '{"header":{"command":"x-notify-response","id":"1"},"payload":null}',
 * ]);
 * socket.close();
 * await served;
 * ```
 */
export class Session<A extends API = API> {
  /** A server-unique id. */
  readonly id: string;
  /** When the connection was accepted. */
  readonly connectedAt: Date = new Date();
  /** The client's address, when the adapter knows it. */
  readonly remoteAddr: string | undefined;
  /** The upgrade request, when the adapter passed it. */
  readonly request: Request | undefined;
  readonly #conn: WSConn;
  readonly #write: (text: string, signal?: AbortSignal) => Promise<void>;
  readonly #controller = new AbortController();
  #peer: PeerIdentity | undefined;
  readonly #inFlight = new Set<unknown>();

  /**
   * Made by the server for each connection; not for users to construct.
   *
   * @param id A server-unique id.
   * @param conn The connection.
   * @param info Where it came from.
   * @param write Writes text once the outgoing buffer has room, within the server's bounds.
   */
  constructor(
    id: string,
    conn: WSConn,
    info: ConnectionInfo,
    write: (text: string, signal?: AbortSignal) => Promise<void> = (text, signal) =>
      conn.writeText(text, signal),
  ) {
    this.id = id;
    this.#conn = conn;
    this.#write = write;
    this.remoteAddr = info.remoteAddr;
    this.request = info.request;
    internals.set(this, {
      conn,
      inFlight: this.#inFlight,
      setPeer: (peer) => this.#peer = peer,
      waitingBytes: 0,
    });
  }

  /** The identity the authenticator established, if one ran. */
  get peer(): PeerIdentity | undefined {
    return this.#peer;
  }

  /** Requests being handled now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Aborts when the session ends. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Resolves with the close status when the connection has closed. */
  get closed(): Promise<{ code: number; reason: string }> {
    return this.#conn.closed;
  }

  /**
   * Sends a notification (a message without an id) to this client. Waits
   * while the outgoing buffer is full. Once the session has ended (its
   * `signal` aborted) it returns an already rejected promise, without
   * encoding the payload: a loop of `await session.push(...)` must stop on
   * that rejection (or on `signal`).
   *
   * @param command A command of the API.
   * @param payload Its payload.
   * @param options A `signal` to cancel a wait for buffer space.
   * @returns Resolves once the push is sent or queued in the socket.
   * @throws {ConnectionClosedError} When the session has ended.
   */
  push<C extends CommandOf<A>>(
    command: C,
    payload: PayloadOf<A, C>,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const ended = this.#controller.signal;
    if (ended.aborted) return Promise.reject(ended.reason);
    let text: string;
    try {
      text = encodeMessage(command, "", payload);
    } catch (error) {
      return Promise.reject(error);
    }
    try {
      if (this.#conn.sendText(text)) return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#write(text, options.signal);
  }

  /**
   * Closes the connection; in-flight handlers see their signal abort.
   *
   * @param code The close code.
   * @param reason The close reason.
   */
  close(code = 1000, reason = ""): void {
    this.#conn.close(code, reason);
    this.#controller.abort(new ConnectionClosedError(code, reason));
  }
}

/** What the server keeps of each session, out of its public surface. */
interface SessionInternals {
  conn: WSConn;
  /** Requests in flight, for the limit and for shutdown. */
  inFlight: Set<unknown>;
  setPeer(peer: PeerIdentity): void;
  /** Takes the session's frames once the handshake is done. */
  listener?: FrameListener;
  /** Bytes of responses and pushes waiting for room in the outgoing buffer (each its length + 64). */
  waitingBytes: number;
}

const internals = new WeakMap<object, SessionInternals>();

const REQUEST_SUFFIX = /-request$/;
/** The defaults of `readQueueLimit`, `writeQueueLimit` and `totalWriteQueueLimit`. */
const DEFAULT_READ_QUEUE_LIMIT = 4 * 1024 * 1024;
const DEFAULT_WRITE_QUEUE_LIMIT = 256 * 1024 * 1024;
const DEFAULT_TOTAL_WRITE_QUEUE_LIMIT = 512 * 1024 * 1024;
const DEFAULT_WRITE_TIMEOUT_MS = 30_000;
/** What each waiting response or push counts on top of its length. */
const WAITING_WRITE_OVERHEAD = 64;
const QUEUE_FULL_REASON = "read queue full: peer sends faster than it reads";

/**
 * A protocol server (the behaviour of Go's tbcd/bfgd): for each connection it
 * runs the authenticator, asks `authorize`, sends the initial ping with id
 * "0", then reads requests and handles each concurrently with a timeout,
 * writing each response with the request's id. Mount it with a runtime
 * adapter, e.g. `createHandler` from `@wsrpc/protocol/deno`.
 *
 * Bad input, and what the client sees:
 * - malformed JSON: close 1007; binary frame: 1003; over the read limit or
 *   nesting limit: 1009;
 * - a missing header, a non-string id, an unknown command or a command with
 *   no handler: close 1008 with the `invalid command: ...` text as reason;
 * - a payload that fails its schema: an error response
 *   (`invalid command: invalid payload ...`), the connection stays up;
 * - more than `maxInFlight` requests at once: an error response;
 * - a failed or refused handshake: close 4100.
 *
 * Every other connection keeps being served.
 *
 * @typeParam A The server's API.
 *
 * @example A ping server on Deno
 * ```ts ignore
 * import { defineAPI, Server, unchecked, type PingRequest, type PingResponse } from "@wsrpc/protocol";
 * import { createHandler } from "@wsrpc/protocol/deno";
 *
 * const api = defineAPI({
 *   "demo-ping-request": unchecked<PingRequest>(),
 *   "demo-ping-response": unchecked<PingResponse>(),
 * });
 * const server = new Server(api, {
 *   handlers: {
 *     "demo-ping-request": ({ timestamp }) => ({ origintimestamp: timestamp, timestamp: Math.floor(Date.now() / 1000) }),
 *   },
 * });
 * Deno.serve({ port: 8080 }, createHandler(server));
 * ```
 */
export class Server<A extends API = API> {
  readonly #api: A;
  readonly #options: ServerOptions<A>;
  readonly #handlers: Map<string, { handle: Handler<A, CommandOf<A>>; response: string }>;
  readonly #pingCommand: string;
  readonly #sessions = new Map<string, Session<A>>();
  readonly #ended = new Map<string, Promise<void>>();
  #nextSession = 0;
  #accepting = true;
  /** Sessions that have ended whose socket has not closed yet. */
  #lingering = 0;
  /** Bounds of the writes waiting for room (see `#queueWrite`). */
  readonly #writeQueueLimit: number;
  readonly #totalWriteQueueLimit: number;
  readonly #readQueueLimit: number;
  /** Bytes of writes waiting for room, over all sessions. */
  #waitingTotal = 0;
  /** How long a session holding `readQueueLimit` of waiting writes may go without draining. */
  readonly #stallMs: number;

  /**
   * Makes a server.
   *
   * @param api The commands it speaks.
   * @param options Handlers, authenticator and limits.
   * @throws {TypeError} When a handler's command is not `x-request` with an
   * `x-response` in the API, or no ping command is known.
   */
  constructor(api: A, options: ServerOptions<A>) {
    this.#api = api;
    this.#options = options;
    this.#readQueueLimit = options.readQueueLimit ?? DEFAULT_READ_QUEUE_LIMIT;
    this.#writeQueueLimit = options.writeQueueLimit ?? DEFAULT_WRITE_QUEUE_LIMIT;
    this.#totalWriteQueueLimit = options.totalWriteQueueLimit ?? DEFAULT_TOTAL_WRITE_QUEUE_LIMIT;
    this.#stallMs = (options.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS) / 3;
    this.#handlers = new Map();
    const known = Object.keys(api.definition);
    for (const [command, handle] of Object.entries(options.handlers)) {
      if (typeof handle !== "function") continue;
      if (!REQUEST_SUFFIX.test(command)) {
        throw new TypeError(
          `Cannot route ${JSON.stringify(command)}: a request command must end in "-request"`,
        );
      }
      const response = command.replace(REQUEST_SUFFIX, "-response");
      if (known.length > 0 && !api.has(response)) {
        throw new TypeError(
          `Cannot route ${JSON.stringify(command)}: the API has no ${JSON.stringify(response)}`,
        );
      }
      this.#handlers.set(command, { handle: handle as Handler<A, CommandOf<A>>, response });
    }
    const ping = options.pingCommand ?? known.find((c) => c.endsWith("-ping-request"));
    if (ping === undefined) {
      throw new TypeError("Cannot serve: no ping command for the first message (set pingCommand)");
    }
    this.#pingCommand = ping;
  }

  /** The open sessions, by id. */
  get sessions(): ReadonlyMap<string, Session<A>> {
    return this.#sessions;
  }

  /** False once `shutdown()` has begun. */
  get accepting(): boolean {
    return this.#accepting;
  }

  /** The largest incoming message in bytes (`ServerOptions.readLimit`), for adapters that enforce it too. */
  get readLimit(): number {
    return this.#options.readLimit ?? DEFAULT_READ_LIMIT;
  }

  /**
   * Checks an upgrade request before the adapter upgrades it.
   *
   * @param request The HTTP request.
   * @returns An error response to send instead (426 not a WebSocket upgrade,
   * 421 host not in `allowedHosts`, 403 origin refused, 503 shutting down or
   * full), or `undefined` to upgrade.
   */
  checkRequest(request: Request): Response | undefined {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Expected a WebSocket upgrade\n", {
        status: 426,
        headers: { upgrade: "websocket" },
      });
    }
    if (!this.#accepting) return new Response("Server shutting down\n", { status: 503 });
    if (this.#sessions.size + this.#lingering >= (this.#options.maxConnections ?? 10_000)) {
      return new Response("Too many connections\n", { status: 503 });
    }
    const allowedHosts = this.#options.allowedHosts;
    if (allowedHosts !== undefined && !hostAllowed(allowedHosts, request)) {
      return new Response("Host not allowed\n", { status: 421 });
    }
    const origin = request.headers.get("origin");
    if (
      origin !== null && !this.#options.insecureSkipOriginCheck &&
      !this.#originAllowed(origin, request)
    ) {
      return new Response(`Origin ${JSON.stringify(origin)} not allowed\n`, { status: 403 });
    }
    return undefined;
  }

  /**
   * The subprotocol to answer an upgrade request with: the first of
   * `ServerOptions.protocols` that the request offers, or `undefined`.
   * Adapters echo it in `Sec-WebSocket-Protocol`.
   *
   * @param request The upgrade request.
   * @returns The selected subprotocol, or `undefined` for none.
   *
   * @example Choosing among the offered protocols
   * ```ts
   * import { Server } from "@wsrpc/protocol";
   * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
   * import assert from "node:assert/strict";
   *
   * const server = new Server(demoAPI, { handlers: demoHandlers, protocols: ["wsrpc.v2", "wsrpc.v1"] });
   * const offer = (protocols: string) =>
   *   new Request("http://localhost/", { headers: { "sec-websocket-protocol": protocols } });
   * assert.equal(server.selectProtocol(offer("wsrpc.v1, wsrpc.v2")), "wsrpc.v2");
   * assert.equal(server.selectProtocol(offer("chat")), undefined);
   * ```
   */
  selectProtocol(request: Request): string | undefined {
    const supported = this.#options.protocols;
    const header = request.headers.get("sec-websocket-protocol");
    if (supported === undefined || supported.length === 0 || header === null) return undefined;
    const offered = header.split(",").map((p) => p.trim());
    return supported.find((p) => offered.includes(p));
  }

  /**
   * Serves one upgraded socket until it closes: wraps it in a
   * {@linkcode WSConn} with the server's limits and runs the session.
   *
   * @param socket A standard `WebSocket` (open or connecting) or an adapter's equivalent.
   * @param info Where it came from.
   * @returns Resolves when the session has ended.
   */
  serveSocket(socket: WebSocketLike, info: ConnectionInfo = {}): Promise<void> {
    return this.#start(socket, info, undefined);
  }

  /**
   * Serves a socket whose session began in an earlier life of the process:
   * a Cloudflare Durable Object woken from hibernation keeps its sockets but
   * not their sessions. With `admitted`, the session is served at once (no
   * handshake, no `authorize`, no first ping, no `onSessionOpen`: they
   * happened before); otherwise the handshake runs, with `authenticator` in
   * place of `ServerOptions.authenticator` (one that finishes an interrupted
   * handshake) and within `handshakeTimeoutMs` of `handshakeStartedAt`, then `authorize` and the ping.
   *
   * @param socket The restored socket.
   * @param info Where it came from.
   * @param state What the adapter kept of the session.
   * @returns Resolves when the session has ended.
   *
   * @example A restored session is served without a new first ping
   * ```ts
   * import { Server } from "@wsrpc/protocol";
   * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
   * import assert from "node:assert/strict";
   *
   * const sent: string[] = [];
   * const socket = Object.assign(new EventTarget(), {
   *   readyState: 1, bufferedAmount: 0, binaryType: "",
   *   send: (frame: string) => void sent.push(frame),
   *   close: () => void socket.dispatchEvent(new CloseEvent("close", { code: 1000 })),
   * });
   * const receive = (data: string) => socket.dispatchEvent(new MessageEvent("message", { data }));
   * const server = new Server(demoAPI, { handlers: demoHandlers });
   * const served = server.resumeSocket(socket, {}, { admitted: true, peer: { publicKey: "ab", userAgent: "x" } });
   * receive('{"header":{"command":"demo-echo-request","id":"5"},"payload":1}');
   * assert.deepEqual(sent, ['{"header":{"command":"demo-echo-response","id":"5"},"payload":1}']);
   * assert.equal([...server.sessions.values()][0]?.peer?.publicKey, "ab");
   * socket.close();
   * await served;
   * ```
   */
  resumeSocket(socket: WebSocketLike, info: ConnectionInfo, state: ResumeState): Promise<void> {
    return this.#start(socket, info, state);
  }

  /** The authenticator every new connection runs (`ServerOptions.authenticator`). */
  get authenticator(): Authenticator | undefined {
    return this.#options.authenticator;
  }

  #start(
    socket: WebSocketLike,
    info: ConnectionInfo,
    resume: ResumeState | undefined,
  ): Promise<void> {
    const o = this.#options;
    const conn = new WSConn(socket, {
      readLimit: o.readLimit ?? DEFAULT_READ_LIMIT,
      ...(o.maxDepth === undefined ? {} : { maxDepth: o.maxDepth }),
      ...(o.writeHighWaterMark === undefined ? {} : { writeHighWaterMark: o.writeHighWaterMark }),
      ...(o.writeTimeoutMs === undefined ? {} : { writeTimeoutMs: o.writeTimeoutMs }),
      ...(o.readQueueLimit === undefined ? {} : { readQueueLimit: o.readQueueLimit }),
    });
    const session = new Session<A>(
      String(++this.#nextSession),
      conn,
      info,
      (text, signal): Promise<void> => this.#queueWrite(session, text, signal),
    );
    this.#sessions.set(session.id, session);
    const ended = this.#run(session, conn, resume);
    this.#ended.set(session.id, ended);
    return ended;
  }

  /**
   * Shuts down gracefully: stops accepting, answers new requests with
   * `server shutting down`, lets in-flight requests finish for up to
   * `graceMs`, then aborts the rest and closes every connection with 1001.
   *
   * @param options `graceMs` (default 5000).
   * @returns Resolves when every session has ended.
   */
  async shutdown(options: { graceMs?: number } = {}): Promise<void> {
    this.#accepting = false;
    const until = Date.now() + (options.graceMs ?? 5_000);
    while (Date.now() < until && [...this.#sessions.values()].some((s) => s.inFlight > 0)) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const session of this.#sessions.values()) session.close(1001, "server shutting down");
    await Promise.all(this.#ended.values());
  }

  async #run(session: Session<A>, conn: WSConn, resume?: ResumeState): Promise<void> {
    try {
      if (resume?.admitted) {
        if (resume.peer !== undefined) internals.get(session)!.setPeer(resume.peer);
        await this.#serve(session, conn);
      } else if (await this.#admit(session, conn, resume)) {
        this.#options.onSessionOpen?.(session);
        await conn.writeText(
          encodeMessage(this.#pingCommand, "0", { timestamp: Math.floor(Date.now() / 1000) }),
        );
        await this.#serve(session, conn);
      }
    } catch (error) {
      if (!(error instanceof ConnectionClosedError)) this.#fault(session, error);
    } finally {
      session.close(1000, "");
      this.#lingering++;
      void conn.closed.then(() => this.#lingering--);
      this.#sessions.delete(session.id);
      this.#ended.delete(session.id);
      this.#options.onSessionClose?.(
        session,
        await settledWithin(conn.closed, 1_000, { code: 1006, reason: "" }),
      );
    }
  }

  /** Handshake and authorization; false when the session was refused and closed. */
  async #admit(session: Session<A>, conn: WSConn, resume?: ResumeState): Promise<boolean> {
    const { authorize } = this.#options;
    const authenticator = resume?.authenticator ?? this.#options.authenticator;
    if (authenticator) {
      const timeoutMs = this.#options.handshakeTimeoutMs ?? WS_HANDSHAKE_TIMEOUT_MS;
      const timeout = deadline(
        resume?.handshakeStartedAt === undefined || !(timeoutMs > 0 && timeoutMs < Infinity)
          ? timeoutMs // none to shorten (0 or Infinity: no timeout)
          : Math.max(1, Math.min(timeoutMs, resume.handshakeStartedAt + timeoutMs - Date.now())),
        "Handshake",
        session.signal,
      );
      try {
        internals.get(session)!.setPeer(
          await abortable(authenticator.handshakeServer(conn, timeout.signal), timeout.signal),
        );
      } catch (error) {
        const refused = error instanceof Error && error.name === "PublicKeyRefusedError";
        let detail = error instanceof Error ? error.message : String(error);
        if (!refused && conn.isOpen && !isWireSafe(error)) {
          // The server's own failure (an authorize callback threw, a bug in an
          // authenticator): its text is for the log, never for the wire.
          const internal = new InternalError(error);
          this.#log(internal, session);
          detail = internal.protocolError().toString();
        }
        session.close(
          STATUS_HANDSHAKE_ERR,
          refused ? PUBLIC_KEY_AUTH_ERROR.reason : `handshake failed: ${detail}`,
        );
        return false;
      } finally {
        timeout.clear();
      }
    }
    if (authorize && !(await authorize(session))) {
      session.close(PUBLIC_KEY_AUTH_ERROR.code, PUBLIC_KEY_AUTH_ERROR.reason);
      return false;
    }
    return !session.signal.aborted;
  }

  /**
   * Serves requests until the connection ends. Frames are delivered
   * synchronously from the socket's message event; a synchronous handler's
   * response goes out in the same turn. When the outgoing buffer is full,
   * responses wait in order for room, within `readQueueLimit` (see `#reply`).
   * The session's signal aborts as soon as the connection ends.
   */
  #serve(session: Session<A>, conn: WSConn): Promise<void> {
    const inner = internals.get(session)!;
    const idleMs = this.#options.idleTimeoutMs ?? 0;
    let lastSeen = Date.now();
    // One timer per session, not one per message.
    const idleTimer = idleMs > 0
      ? setInterval(() => {
        if (Date.now() - lastSeen >= idleMs) session.close(1008, "idle timeout");
      }, Math.max(5, Math.floor(idleMs / 4)))
      : undefined;
    return new Promise<void>((resolve) => {
      inner.listener = {
        value: (raw) => {
          lastSeen = Date.now();
          try {
            this.#receive(session, raw);
          } catch (error) {
            this.#fault(session, error); // never throw into the socket's event handler
          }
        },
        end: (error) => {
          clearInterval(idleTimer);
          // Abort handlers and fail pushes now, not after the session's cleanup.
          if (error instanceof ConnectionClosedError) session.close(error.code, error.reason);
          else session.close(1000, "");
          resolve();
        },
      };
      listenFrames(conn, inner.listener);
    });
  }

  /** One incoming request, as delivered. */
  #receive(session: Session<A>, raw: unknown): void {
    let decoded: Incoming<A> | Promise<Incoming<A>>;
    try {
      decoded = decodeMessage(this.#api, raw);
    } catch (error) {
      this.#refuse(session, error);
      return;
    }
    if (decoded instanceof Promise) {
      decoded.then((message) => this.#dispatch(session, message), (e) => this.#refuse(session, e))
        .catch((error) => this.#fault(session, error));
    } else {
      this.#dispatch(session, decoded);
    }
  }

  /** The server's own failure while serving a session: logged, and the session closed with 1011. */
  #fault(session: Session<A>, error: unknown): void {
    this.#log(new InternalError(error), session);
    session.close(1011, "internal error");
  }

  /** A message that failed to decode: an error response, or the connection closed. */
  #refuse(session: Session<A>, error: unknown): void {
    if (!(error instanceof InvalidCommandError)) {
      this.#fault(session, error);
      return;
    }
    const route = error.command === undefined ? undefined : this.#handlers.get(error.command);
    if (route !== undefined && error.id !== undefined) {
      // A known request whose payload failed its schema: answer, keep serving.
      this.#reply(session, route.response, error.id, {
        error: requestErrorf("%s", error.message),
      });
      return;
    }
    session.close(1008, error.message);
  }

  #dispatch(session: Session<A>, message: Incoming<A>): void {
    const route = this.#handlers.get(message.command);
    if (route === undefined) {
      session.close(1008, `invalid command: no handler for ${JSON.stringify(message.command)}`);
      return;
    }
    if (!this.#accepting) {
      this.#reply(session, route.response, message.id, {
        error: requestErrorf("server shutting down"),
      });
      return;
    }
    const limit = this.#options.maxInFlight ?? 64;
    if (session.inFlight >= limit) {
      this.#reply(session, route.response, message.id, {
        error: requestErrorf("too many requests in flight (limit %d)", limit),
      });
      return;
    }
    this.#handle(session, route, message);
  }

  #handle(
    session: Session<A>,
    route: { handle: Handler<A, CommandOf<A>>; response: string },
    message: Incoming<A>,
  ): void {
    if (session.signal.aborted) return; // the connection is gone; nobody to answer
    const timeoutMs = this.#options.requestTimeoutMs ?? 60_000;
    // The timeout (a timer and an AbortController) is made only when needed:
    // when the handler reads `signal` or returns a promise. A synchronous
    // handler that does neither, such as a ping, costs no timer.
    let timeout: { signal: AbortSignal; clear(): void } | undefined;
    const guard = () =>
      timeout ??= deadline(
        timeoutMs,
        `Request ${JSON.stringify(message.command)}`,
        session.signal,
      );
    const context: RequestContext<A> = {
      id: message.id,
      command: message.command,
      get signal() {
        return guard().signal;
      },
      session,
    };
    let result: unknown;
    try {
      result = route.handle(message.payload as never, context);
    } catch (error) {
      timeout?.clear();
      this.#reply(session, route.response, message.id, { error: this.#wireError(error, session) });
      return;
    }
    if (!isPromiseLike(result)) {
      timeout?.clear();
      this.#reply(session, route.response, message.id, result ?? null);
      return;
    }
    const token = {};
    const inFlight = internals.get(session)!.inFlight;
    inFlight.add(token);
    abortable(Promise.resolve(result), guard().signal).then(
      (payload) => payload ?? null,
      (error) => session.signal.aborted ? undefined : { error: this.#wireError(error, session) },
    ).then((payload) => {
      timeout?.clear();
      inFlight.delete(token);
      // Undefined: the connection is gone; nobody to answer.
      if (payload !== undefined) this.#reply(session, route.response, message.id, payload);
    }).catch((error) => this.#fault(session, error));
  }

  /**
   * Writes one response. It goes out at once unless the outgoing buffer is
   * full; then it waits its turn (`#queueWrite`), and the session keeps
   * serving: the runtime delivers the client's requests whether or not the
   * server reads them, so pausing would only move them to the read queue.
   */
  #reply(session: Session<A>, command: string, id: string, payload: unknown): void {
    const inner = internals.get(session)!;
    let text: string;
    try {
      text = encodeMessage(command, id, payload);
    } catch (error) {
      // The handler returned something JSON cannot encode.
      const internal = new InternalError(error);
      this.#log(internal, session);
      text = encodeMessage(command, id, { error: internal.protocolError() });
    }
    try {
      if (inner.conn.sendText(text)) return;
    } catch {
      return; // closed: nobody to answer
    }
    // Rejected when closed, or closed for not reading (1008): the session ends.
    this.#queueWrite(session, text).catch(() => {});
  }

  /**
   * Writes `text` once the outgoing buffer has room, within the bounds of
   * writes waiting for room: `writeQueueLimit` for this session (its first
   * waiting write is always taken), `totalWriteQueueLimit` for the server
   * (past it, a session already holding `readQueueLimit` is closed when it
   * would add more), and time: a session holding `readQueueLimit` whose
   * buffer has not drained for a third of `writeTimeoutMs` is not reading
   * and may add nothing more. Past any of them, it is closed with 1008.
   */
  #queueWrite(session: Session<A>, text: string, signal?: AbortSignal): Promise<void> {
    const inner = internals.get(session)!;
    const size = text.length + WAITING_WRITE_OVERHEAD;
    const held = inner.waitingBytes;
    if (
      held > 0 && (held + size > this.#writeQueueLimit ||
        (held >= this.#readQueueLimit &&
          (this.#waitingTotal + size > this.#totalWriteQueueLimit ||
            inner.conn.writeStalledMs >= this.#stallMs)))
    ) {
      session.close(1008, QUEUE_FULL_REASON);
      return Promise.reject(session.signal.reason);
    }
    inner.waitingBytes += size;
    this.#waitingTotal += size;
    const release = () => {
      inner.waitingBytes -= size;
      this.#waitingTotal -= size;
    };
    const written = inner.conn.writeText(text, signal);
    written.then(release, release);
    return written;
  }

  /** What the client may see of a handler's error; logs what the operator must see. */
  #wireError(error: unknown, session: Session<A>): ProtocolError {
    if (error instanceof ProtocolError) {
      if (error.trace !== "") this.#log(error, session);
      return error;
    }
    if (error instanceof DOMException && error.name === "TimeoutError") {
      const wire = new ProtocolError("request timed out", {
        trace: randomTrace(),
      });
      this.#log(
        new ProtocolError(`${error.message}`, { trace: wire.trace, timestamp: wire.timestamp }),
        session,
      );
      return wire;
    }
    const internal = error instanceof InternalError ? error : new InternalError(error);
    this.#log(internal, session);
    return internal.protocolError();
  }

  #log(error: Error, session: Session<A>): void {
    if (this.#options.onError) {
      this.#options.onError(error, session);
      return;
    }
    // Peer-supplied text (a user agent, a command, a handler's error about
    // the payload) must not drive the operator's terminal or forge log lines.
    const text = safeText(error instanceof ProtocolError ? error.toString() : error.message);
    const cause = error instanceof InternalError ? error.cause : "";
    console.error(
      `wsrpc: session ${session.id}: ${text}`,
      cause instanceof Error
        ? safeError(cause)
        : typeof cause === "string"
        ? safeText(cause)
        : cause,
    );
  }

  #originAllowed(origin: string, request: Request): boolean {
    const allowed = this.#options.origins;
    if (allowed !== undefined) return allowed.includes("*") || allowed.includes(origin);
    try {
      return new URL(origin).host === (request.headers.get("host") ?? new URL(request.url).host);
    } catch {
      return false;
    }
  }
}

/** Whether the request's `Host` names one of `allowed` (any port). */
function hostAllowed(allowed: readonly string[], request: Request): boolean {
  const name = hostName(request.headers.get("host") ?? new URL(request.url).host);
  return name !== undefined && allowed.some((host) => hostName(host) === name);
}

/**
 * The normalised name of a `Host` value (`Example.COM:80` -> `example.com`,
 * `::1` and `[::1]:8080` -> `[::1]`), or `undefined` when it is not a plain
 * host (user info, a path, or anything else a URL parser would skip over).
 */
function hostName(host: string): string | undefined {
  if (host === "" || /[\s/?#@\\]/.test(host)) return undefined;
  const bracketed = host.indexOf(":") !== host.lastIndexOf(":") && !host.startsWith("[")
    ? `[${host}]`
    : host;
  try {
    return new URL(`http://${bracketed}`).hostname;
  } catch {
    return undefined;
  }
}

/** An error's name, message (on one line, made safe) and stack frames, for the log. */
function safeError(error: Error): string {
  const stack = error.stack ?? "";
  const frames = stack.indexOf("\n    at ");
  return safeText(`${error.name}: ${error.message}`) +
    (frames === -1 ? "" : safeLines(stack.slice(frames)));
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === "function";
}

/**
 * Whether a handshake failure's text may go in the close reason: a
 * {@linkcode HandshakeError} without a cause (the authenticator's own
 * verdict, which it also sends the client), a timeout or abort, or a closed
 * connection. Anything else may carry internal details.
 */
function isWireSafe(error: unknown): boolean {
  if (error instanceof HandshakeError) return error.cause === undefined;
  return error instanceof DOMException || error instanceof ConnectionClosedError;
}
