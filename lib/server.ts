/**
 * The runtime-neutral server: routes commands to typed handlers, runs the
 * authenticator, enforces limits, and shuts down gracefully. Runtime adapters
 * (`@wsrpc/protocol/deno`, ...) only upgrade the request and hand it the
 * socket. Admission lives in `_admission.ts`, a session's run (handshake,
 * first message, serving) in `_session_runner.ts`, routing and handler
 * invocation in `_router.ts`, redaction in `_redact.ts`, the extensions in
 * `_server_extensions.ts`, the session in `session.ts`.
 *
 * @module
 */

import type { API, CommandOf, PayloadOf } from "./api.ts";
import { settledWithin } from "./_deadline.ts";
import { CloseCode } from "./errors.ts";
import { type Authenticator, DEFAULT_READ_LIMIT } from "./message.ts";
import type { WebSocketLike } from "./ws_conn.ts";
import { FrameSocket } from "./_frames.ts";
import { checkUpgrade, selectProtocol } from "./_admission.ts";
import { Router, ServedSession } from "./_router.ts";
import type { ResumeState, ServerOptions } from "./server_options.ts";
import { TopicHub } from "./_topic_hub.ts";
import { type BusPosition, MemoryBus } from "./topics.ts";
import { ServerExtensions } from "./_server_extensions.ts";
import { SessionRunner } from "./_session_runner.ts";
import type { ConnectionInfo, Session } from "./session.ts";

export type {
  Handler,
  Handlers,
  RequestContext,
  ResumeState,
  ServerOptions,
} from "./server_options.ts";
export { type ConnectionInfo, Session } from "./session.ts";

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
  readonly #options: ServerOptions<A>;
  readonly #router: Router<A>;
  readonly #hub: TopicHub;
  /** Each session's life: handshake, first message, serving. */
  readonly #runner: SessionRunner<A>;
  readonly #sessions = new Map<string, Session<A>>();
  readonly #ended = new Map<string, Promise<void>>();
  #nextSession = 0;
  /** Sessions that have ended whose socket has not closed yet. */
  #lingering = 0;

  /**
   * Makes a server.
   *
   * @param api The commands it speaks.
   * @param options Handlers, authenticator and limits.
   * @throws {TypeError} When a handler's command is not `x-request` with an
   * `x-response` in the API, or no ping command is known.
   */
  constructor(api: A, options: ServerOptions<A>) {
    this.#options = options;
    this.#router = new Router(api, options);
    this.#hub = new TopicHub(options.bus ?? new MemoryBus(), (state, error) => {
      if (state === "down") console.error("wsrpc: bus unreachable:", error);
    });
    const ping = options.pingCommand ??
      Object.keys(api.definition).find((c) => c.endsWith("-ping-request"));
    if (ping === undefined) {
      throw new TypeError("Cannot serve: no ping command for the first message (set pingCommand)");
    }
    const extensions = new ServerExtensions(api, options, this.#hub);
    this.#runner = new SessionRunner(this.#router, this.#hub, extensions, ping, options);
  }

  /** The open sessions, by id. */
  get sessions(): ReadonlyMap<string, Session<A>> {
    return this.#sessions;
  }

  /** False once `shutdown()` has begun. */
  get accepting(): boolean {
    return this.#router.accepting;
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
    return checkUpgrade(request, this.#options, {
      accepting: this.accepting,
      connections: this.#sessions.size + this.#lingering,
    });
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
    return selectProtocol(request, this.#options.protocols);
  }

  /**
   * Serves one upgraded socket until it closes: wraps it in a
   * frame layer with the server's limits (as {@linkcode WSConn} has) and runs the session.
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
   * happened before), with the `extensions` its client accepted; it hears
   * broadcasts, and renewing its subscriptions (`session.subscribe`) is the
   * adapter's part, as the bus of a new life starts empty; otherwise the
   * handshake runs, with `authenticator` in place of
   * `ServerOptions.authenticator` (one that finishes an interrupted
   * handshake) and within `handshakeTimeoutMs` of `handshakeStartedAt`, then
   * `authorize` and the ping.
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
    const conn = new FrameSocket(socket, {
      readLimit: o.readLimit ?? DEFAULT_READ_LIMIT,
      ...(o.maxDepth === undefined ? {} : { maxDepth: o.maxDepth }),
      ...(o.writeHighWaterMark === undefined ? {} : { writeHighWaterMark: o.writeHighWaterMark }),
      ...(o.writeTimeoutMs === undefined ? {} : { writeTimeoutMs: o.writeTimeoutMs }),
      ...(o.readQueueLimit === undefined ? {} : { readQueueLimit: o.readQueueLimit }),
    });
    const served = new ServedSession(
      this.#router,
      this.#hub,
      String(++this.#nextSession),
      conn,
      info,
    );
    const session = served.session;
    if (resume?.onTopicsChange !== undefined) this.#hub.watch(served, resume.onTopicsChange);
    if (this.#router.accepting) this.#hub.attach();
    this.#sessions.set(session.id, session);
    const ended = this.#run(served, resume);
    this.#ended.set(session.id, ended);
    return ended;
  }

  /**
   * Publishes a push to every session subscribed to `topic`
   * ({@linkcode Session.subscribe}) on every server on this server's bus
   * (`ServerOptions.bus`). Each subscriber gets it through its own bounded
   * write path: a client that does not read is closed by `writeQueueLimit`
   * or `writeTimeoutMs`, never buffered without bound. Per topic, every
   * subscriber sees the publishes in the order the bus accepted them.
   *
   * @param topic The topic.
   * @param command A command of the API (a notification).
   * @param payload Its payload.
   * @returns Where the bus put it: the topic's sequence and epoch.
   * @throws {TypeError} When the topic is not a valid name.
   *
   * @example See `Session.subscribe`
   * ```ts
   * import { Server } from "@wsrpc/protocol";
   * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
   * import assert from "node:assert/strict";
   *
   * const server = new Server(demoAPI, { handlers: demoHandlers });
   * const first = await server.publish("news", "demo-event-notification", { seq: 1 });
   * const second = await server.publish("news", "demo-event-notification", { seq: 2 });
   * assert.equal(second.seq, first.seq + 1); // nobody listens; the bus numbers them all the same
   * ```
   */
  publish<C extends CommandOf<A>>(
    topic: string,
    command: C,
    payload: PayloadOf<A, C>,
  ): Promise<BusPosition> {
    try {
      return this.#hub.publish(topic, command, payload);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Publishes a push to every session of every server on this server's bus.
   *
   * @param command A command of the API (a notification).
   * @param payload Its payload.
   * @returns Resolves once the bus has accepted it.
   *
   * @example Every session hears it
   * ```ts
   * import { Server } from "@wsrpc/protocol";
   * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
   * import assert from "node:assert/strict";
   *
   * const sent: string[] = [];
   * const socket = Object.assign(new EventTarget(), {
   *   readyState: 1, bufferedAmount: 0, binaryType: "", send: (f: string) => void sent.push(f), close() {},
   * });
   * const server = new Server(demoAPI, { handlers: demoHandlers });
   * server.serveSocket(socket);
   * await new Promise((resolve) => setTimeout(resolve, 0)); // the ping goes out
   * await server.broadcast("demo-event-notification", { seq: 1 });
   * assert.equal(sent[1], '{"header":{"command":"demo-event-notification"},"payload":{"seq":1}}');
   * await server.shutdown({ graceMs: 0 });
   * ```
   */
  async broadcast<C extends CommandOf<A>>(command: C, payload: PayloadOf<A, C>): Promise<void> {
    await this.#hub.broadcast(command, payload);
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
    this.#router.accepting = false;
    const until = Date.now() + (options.graceMs ?? 5_000);
    while (Date.now() < until && [...this.#sessions.values()].some((s) => s.inFlight > 0)) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const session of this.#sessions.values()) {
      session.close(CloseCode.GoingAway, "server shutting down");
    }
    await Promise.all(this.#ended.values());
    this.#hub.detach();
  }

  /** Runs a session, then forgets it once it has ended. */
  async #run(served: ServedSession<A>, resume: ResumeState | undefined): Promise<void> {
    const { session, conn } = served;
    try {
      await this.#runner.run(served, resume);
    } finally {
      session.close(CloseCode.Normal, "");
      this.#hub.remove(served);
      this.#lingering++;
      void conn.closed.then(() => this.#lingering--);
      this.#sessions.delete(session.id);
      this.#ended.delete(session.id);
      this.#options.onSessionClose?.(
        session,
        // The socket never reported its close.
        await settledWithin(conn.closed, 1_000, { code: CloseCode.AbnormalClosure, reason: "" }),
      );
    }
  }
}
