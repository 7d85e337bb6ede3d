/**
 * What a {@linkcode Server} is configured with: its options, and the types
 * of the handlers it routes requests to.
 *
 * @module
 */

import type { API, CommandOf, PayloadOf, RequestCommandOf, ResponseCommandOf } from "./api.ts";
import type { Authenticator, PeerIdentity, TraceContext } from "./message.ts";
import type { Session } from "./session.ts";
import type { Bus } from "./topics.ts";

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
 * const sent: string[] = []; // what the server sends, on a tiny stand-in socket
 * const socket = Object.assign(new EventTarget(), {
 *   readyState: 1, bufferedAmount: 0, binaryType: "", send: (f: string) => void sent.push(f), close() {},
 * });
 * const describe = (_payload: unknown, ctx: RequestContext<typeof demoAPI>) =>
 *   `${ctx.command} #${ctx.id} from ${ctx.session.remoteAddr}, aborted: ${ctx.signal.aborted}`;
 * const server = new Server(demoAPI, { handlers: { "demo-echo-request": describe } });
 * const served = server.serveSocket(socket, { remoteAddr: "192.0.2.7:50000" });
 * const request = { header: { command: "demo-echo-request", id: "7" }, payload: null };
 * socket.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(request) }));
 * await new Promise((resolve) => setTimeout(resolve, 0)); // let the server answer
 * assert.deepEqual(JSON.parse(sent[1]!), {
 *   header: { command: "demo-echo-response", id: "7" },
 *   payload: "demo-echo-request #7 from 192.0.2.7:50000, aborted: false",
 * });
 * socket.dispatchEvent(new CloseEvent("close", { code: 1000 })); // the client goes
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
  /**
   * The W3C trace context the client sent with the request (the `trace`
   * extension, when negotiated and valid); `undefined` otherwise.
   */
  readonly trace?: TraceContext | undefined;
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
 * const sent: string[] = []; // what the server sends, on a tiny stand-in socket
 * const socket = Object.assign(new EventTarget(), {
 *   readyState: 1, bufferedAmount: 0, binaryType: "", send: (f: string) => void sent.push(f), close() {},
 * });
 * const receive = (message: unknown) =>
 *   socket.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(message) }));
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
 * const served = server.serveSocket(socket);
 * receive({ header: { command: "x-upper-request", id: "1" }, payload: "hi" });
 * receive({ header: { command: "x-upper-request", id: "2" }, payload: "" });
 * await new Promise((resolve) => setTimeout(resolve, 0)); // let the server answer
 * const [, first, second] = sent.map((frame) => JSON.parse(frame).payload);
 * assert.equal(first, "HI");
 * assert.equal(second.error.message, "nothing to upper-case");
 * socket.dispatchEvent(new CloseEvent("close", { code: 1000 })); // the client goes
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
 * const sent: string[] = []; // what the server sends, on a tiny stand-in socket
 * const socket = Object.assign(new EventTarget(), {
 *   readyState: 1, bufferedAmount: 0, binaryType: "", send: (f: string) => void sent.push(f),
 *   close(code: number, reason: string) {
 *     socket.readyState = 3;
 *     socket.dispatchEvent(new CloseEvent("close", { code, reason }));
 *   },
 * });
 * const receive = (message: unknown) =>
 *   socket.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(message) }));
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
 * const served = server.serveSocket(socket);
 * const [session] = server.sessions.values();
 * receive({ header: { command: "x-ping-request", id: "1" }, payload: { timestamp: 1 } });
 * receive({ header: { command: "x-quit-request", id: "2" }, payload: null });
 * await served;
 * assert.deepEqual(JSON.parse(sent[1]!), {
 *   header: { command: "x-ping-response", id: "1" },
 *   payload: { origintimestamp: 1, timestamp: 2 },
 * });
 * // A request without a handler is not answered: it closes the connection.
 * assert.equal(sent.length, 2);
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
   * Open connections at most; past it upgrades get HTTP 503. A connection the
   * server has closed counts until its socket has closed (docs/reliability.md).
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
   * `idle timeout`; 0 for none. Checked every quarter of it: the close
   * comes after this much silence and at most half of it more.
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
   * Bytes of requests a connection may have queued unread (before the session
   * reads them), each its length plus 64; past it close 1008 `read queue full`.
   *
   * @default {4 * 1024 * 1024}
   */
  readQueueLimit?: number;
  /**
   * Bytes of responses and pushes one connection may have waiting for room in
   * its outgoing buffer (each its length plus 64); past it close 1008 `read
   * queue full`, as for a client holding `readQueueLimit` of them whose buffer
   * has not drained for a third of `writeTimeoutMs` (docs/reliability.md).
   *
   * @default {256 * 1024 * 1024}
   */
  writeQueueLimit?: number;
  /**
   * Bytes of responses and pushes waiting across all connections; past it, a
   * connection holding at least `readQueueLimit` of them is closed with 1008
   * `read queue full` when it would add more.
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
   * Host names this server answers to (the `Host` header's name; any port,
   * case-insensitive), e.g. `["localhost", "127.0.0.1", "[::1]"]`. Others get
   * HTTP 421 before the `Origin` check: this stops DNS rebinding, whose
   * `Origin` and `Host` agree. By default any host.
   */
  allowedHosts?: string[];
  /**
   * WebSocket subprotocols the server speaks, most preferred first: the first of
   * them the client offers is echoed (RFC 6455 §4.2.2); a client offering none of
   * them is served without one.
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
  onError?: (error: Error, session: Session<A>, context?: { trace?: TraceContext }) => void;
  /**
   * What `publish` and `broadcast` go through and subscriptions listen on:
   * share one bus between instances to fan out across processes and
   * machines (`RedisBus` from `@wsrpc/protocol/redis`, `NatsBus` from
   * `@wsrpc/protocol/nats`). The server listens from its first session until
   * `shutdown`; the bus stays the caller's to close.
   *
   * @default {new MemoryBus()} (this process only)
   */
  bus?: Bus;
  /**
   * Whether a session may resume a topic after a reconnect ("topics"
   * extension: the client names its topics with their last seq and the
   * server subscribes it and replays what it missed). A resume does what a
   * subscribing handler does, so decide as it would: e.g. from
   * `session.peer` (the ed25519 key) or the upgrade request's credentials,
   * `topic === "user:" + session.peer?.publicKey`. Refused topics get a
   * `wsrpc-gap` with reason "refused".
   *
   * @default {undefined} (nothing is resumable: a topic's name proves nothing)
   */
  canResume?: (session: Session<A>, topic: string) => boolean | Promise<boolean>;
  /**
   * The wsrpc extensions to offer to clients (docs/wire-format.md,
   * "Extensions"): none by default (the first message stays byte for byte
   * what Go servers send); `true` for `cancel` and `trace`, which reveal
   * nothing about the server; or a list of names (`"describe"` must be
   * named: it discloses the API and its schemas). Go clients ignore the
   * offer; only a wsrpc client that accepts one uses it.
   */
  extensions?: boolean | readonly string[];
  /**
   * For the `describe` extension: turns a payload validator into a JSON
   * Schema when it does not implement Standard JSON Schema itself, e.g.
   * Zod 4's `z.toJSONSchema` or Valibot's `toJsonSchema`
   * (`@valibot/to-json-schema`). Return `undefined` when it cannot.
   */
  describeSchema?: (schema: unknown) => Record<string, unknown> | undefined;
  /** Called when a session has passed the handshake and authorization. */
  onSessionOpen?: (session: Session<A>) => void;
  /** Called when a session ends, with the close status. */
  onSessionClose?: (session: Session<A>, status: { code: number; reason: string }) => void;
}

/**
 * What an adapter kept of a session across a restart of its process, for
 * `Server.resumeSocket` (the Cloudflare adapter keeps it in the socket's
 * hibernation attachment).
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
  /**
   * The extensions an admitted session's client accepted (`Session.extensions`),
   * among those the server offers; unset when its hello has not come yet.
   */
  extensions?: readonly string[];
  /**
   * Called with the session's topics each time its subscriptions change,
   * for an adapter that keeps them across lives of the process (a Durable
   * Object's socket attachment), to renew them with `session.subscribe`.
   */
  onTopicsChange?: (topics: readonly string[]) => void;
}
