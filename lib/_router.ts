/**
 * Routing and handler invocation: each request to its handler, answered with
 * its response command; the handler's timeout, the in-flight limit, reply
 * encoding, and the bounds on replies and pushes that wait for room in a
 * client's outgoing buffer.
 */

import type { API, CommandOf } from "./api.ts";
import { abortable } from "./_deadline.ts";
import {
  CloseCode,
  InternalError,
  InvalidCommandError,
  type ProtocolError,
  requestErrorf,
} from "./errors.ts";
import { decodeMessage, encodeMessage, type Incoming } from "./framing.ts";
import type { PeerIdentity, TraceContext } from "./message.ts";
import type { FrameSocket } from "./_frames.ts";
import { type ConnectionInfo, Session, type SessionLink } from "./session.ts";
import type { TopicHub, TopicSubscriber } from "./_topic_hub.ts";
import type { SessionExtensions } from "./_extensions.ts";
import type { InFlightRequests } from "./_cancel.ts";
import { logLine, redactHandlerError, redactInternal } from "./_redact.ts";
import type { Handler, ServerOptions } from "./server_options.ts";
import { HandlerContext } from "./_request_context.ts";
import { traceOf } from "./_trace.ts";

/** The server options the router reads. */
export type RouterOptions<A extends API> = Pick<
  ServerOptions<A>,
  | "handlers"
  | "requestTimeoutMs"
  | "maxInFlight"
  | "readQueueLimit"
  | "writeQueueLimit"
  | "totalWriteQueueLimit"
  | "writeTimeoutMs"
  | "onError"
>;

interface Route<A extends API> {
  handle: Handler<A, CommandOf<A>>;
  response: string;
}

/**
 * What the server keeps of each session it serves, and gives the session as
 * its {@linkcode SessionLink}.
 */
export class ServedSession<A extends API> implements SessionLink, TopicSubscriber {
  readonly session: Session<A>;
  readonly conn: FrameSocket;
  peer: PeerIdentity | undefined = undefined;
  /** The extension state, when the server offered extensions on this session. */
  extensions: SessionExtensions | undefined = undefined;
  /** Requests a `wsrpc-cancel` can abort, when the server offered `cancel`. */
  cancellable: InFlightRequests | undefined = undefined;
  inFlight = 0;
  topics: Set<string> | undefined = undefined;
  /** Bytes of responses and pushes waiting for room in the outgoing buffer (each its length + 64). */
  waitingBytes = 0;
  readonly #router: Router<A>;
  readonly #hub: TopicHub;

  constructor(
    router: Router<A>,
    hub: TopicHub,
    id: string,
    conn: FrameSocket,
    info: ConnectionInfo,
  ) {
    this.#router = router;
    this.#hub = hub;
    this.conn = conn;
    this.session = new Session<A>(id, info, this);
  }

  /** Whether its pushes of topics carry topic, seq and epoch (it negotiated "topics"). */
  get topicKeys(): boolean {
    return this.extensions?.has("topics") ?? false;
  }

  deliver(text: string): void {
    this.#router.send(this, text);
  }

  subscribe(topic: string): Promise<void> {
    return this.#hub.subscribe(this, topic);
  }

  unsubscribe(topic: string): void {
    this.#hub.unsubscribe(this, topic);
  }

  get closed(): Promise<{ code: number; reason: string }> {
    return this.conn.closed;
  }

  sendText(text: string): boolean {
    return this.conn.sendText(text);
  }

  write(text: string, signal?: AbortSignal): Promise<void> {
    return this.#router.queueWrite(this, text, signal);
  }

  close(code: number, reason: string): void {
    this.conn.close(code, reason);
  }
}

const REQUEST_SUFFIX = /-request$/;
/** The defaults of `readQueueLimit`, `writeQueueLimit` and `totalWriteQueueLimit`. */
const DEFAULT_READ_QUEUE_LIMIT = 4 * 1024 * 1024;
const DEFAULT_WRITE_QUEUE_LIMIT = 256 * 1024 * 1024;
const DEFAULT_TOTAL_WRITE_QUEUE_LIMIT = 512 * 1024 * 1024;
const DEFAULT_WRITE_TIMEOUT_MS = 30_000;
/** What each waiting response or push counts on top of its length. */
const WAITING_WRITE_OVERHEAD = 64;
const QUEUE_FULL_REASON = "read queue full: peer sends faster than it reads";

/** Routes a server's requests to its handlers and writes their answers. */
export class Router<A extends API> {
  /** False once the server shuts down: new requests are answered `server shutting down`. */
  accepting = true;
  readonly #api: A;
  readonly #options: RouterOptions<A>;
  readonly #routes = new Map<string, Route<A>>();
  readonly #writeQueueLimit: number;
  readonly #totalWriteQueueLimit: number;
  readonly #readQueueLimit: number;
  /** Bytes of writes waiting for room, over all sessions. */
  #waitingTotal = 0;
  /** How long a session holding `readQueueLimit` of waiting writes may go without draining. */
  readonly #stallMs: number;

  /**
   * @throws {TypeError} When a handler's command is not `x-request` with an
   * `x-response` in the API.
   */
  constructor(api: A, options: RouterOptions<A>) {
    this.#api = api;
    this.#options = options;
    this.#readQueueLimit = options.readQueueLimit ?? DEFAULT_READ_QUEUE_LIMIT;
    this.#writeQueueLimit = options.writeQueueLimit ?? DEFAULT_WRITE_QUEUE_LIMIT;
    this.#totalWriteQueueLimit = options.totalWriteQueueLimit ?? DEFAULT_TOTAL_WRITE_QUEUE_LIMIT;
    this.#stallMs = (options.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS) / 3;
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
      this.#routes.set(command, { handle: handle as Handler<A, CommandOf<A>>, response });
    }
  }

  /** One incoming request, as delivered. */
  receive(served: ServedSession<A>, raw: unknown): void {
    let decoded: Incoming<A> | Promise<Incoming<A>>;
    try {
      decoded = decodeMessage(this.#api, raw);
    } catch (error) {
      this.#refuse(served, error);
      return;
    }
    if (decoded instanceof Promise) {
      decoded.then(
        (message) => this.#dispatch(served, message, raw),
        (e) => this.#refuse(served, e),
      )
        .catch((error) => this.fault(served.session, error));
    } else {
      this.#dispatch(served, decoded, raw);
    }
  }

  /** The server's own failure while serving a session: logged, and the session closed with 1011. */
  fault(session: Session<A>, error: unknown): void {
    this.log(new InternalError(error), session);
    session.close(CloseCode.InternalError, "internal error");
  }

  /** Logs what the operator must see: to `onError`, or a safe line on the console. */
  log(error: Error, session: Session<A>, trace?: TraceContext): void {
    if (this.#options.onError) {
      this.#options.onError(error, session, trace === undefined ? {} : { trace });
    } else console.error(...logLine(error, session.id, trace?.traceparent));
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
  queueWrite(served: ServedSession<A>, text: string, signal?: AbortSignal): Promise<void> {
    const size = text.length + WAITING_WRITE_OVERHEAD;
    const held = served.waitingBytes;
    if (
      held > 0 && (held + size > this.#writeQueueLimit ||
        (held >= this.#readQueueLimit &&
          (this.#waitingTotal + size > this.#totalWriteQueueLimit ||
            served.conn.writeStalledMs >= this.#stallMs)))
    ) {
      served.session.close(CloseCode.PolicyViolation, QUEUE_FULL_REASON);
      return Promise.reject(served.session.signal.reason);
    }
    served.waitingBytes += size;
    this.#waitingTotal += size;
    const release = () => {
      served.waitingBytes -= size;
      this.#waitingTotal -= size;
    };
    const written = served.conn.writeText(text, signal);
    written.then(release, release);
    return written;
  }

  /** A message that failed to decode: an error response, or the connection closed. */
  #refuse(served: ServedSession<A>, error: unknown): void {
    if (!(error instanceof InvalidCommandError)) {
      this.fault(served.session, error);
      return;
    }
    const route = error.command === undefined ? undefined : this.#routes.get(error.command);
    if (route !== undefined && error.id !== undefined) {
      // A known request whose payload failed its schema: answer, keep serving.
      this.#reply(served, route.response, error.id, {
        error: requestErrorf("%s", error.message),
      });
      return;
    }
    served.session.close(CloseCode.PolicyViolation, error.message);
  }

  #dispatch(served: ServedSession<A>, message: Incoming<A>, raw: unknown): void {
    const route = this.#routes.get(message.command);
    if (route === undefined) {
      served.session.close(
        CloseCode.PolicyViolation,
        `invalid command: no handler for ${JSON.stringify(message.command)}`,
      );
      return;
    }
    if (!this.accepting) {
      this.#reply(served, route.response, message.id, {
        error: requestErrorf("server shutting down"),
      });
      return;
    }
    const limit = this.#options.maxInFlight ?? 64;
    if (served.inFlight >= limit) {
      this.#reply(served, route.response, message.id, {
        error: requestErrorf("too many requests in flight (limit %d)", limit),
      });
      return;
    }
    this.#handle(served, route, message, raw);
  }

  #handle(served: ServedSession<A>, route: Route<A>, message: Incoming<A>, raw: unknown): void {
    const session = served.session;
    if (session.signal.aborted) return; // the connection is gone; nobody to answer
    const extensions = served.extensions;
    const context = new HandlerContext<A>(
      message.id,
      message.command,
      session,
      // Read from the header only when the client negotiated `trace`.
      extensions?.has("trace") ? traceOf(raw) : undefined,
      // With `cancel` negotiated, the client can abort the handler's signal too.
      extensions?.has("cancel") ? new AbortController() : undefined,
      this.#options.requestTimeoutMs ?? 60_000,
    );
    let result: unknown;
    try {
      result = route.handle(message.payload as never, context);
    } catch (error) {
      context.clear();
      this.#reply(served, route.response, context.id, {
        error: this.#wireError(error, session, context.trace),
      });
      return;
    }
    if (isPromiseLike(result)) this.#settle(served, route, context, result);
    else {
      context.clear();
      this.#reply(served, route.response, context.id, result ?? null);
    }
  }

  /**
   * Answers once an asynchronous handler settles, unless its request times
   * out, is cancelled or loses its connection first. Kept apart from
   * `#handle` so that the synchronous path allocates no closures.
   */
  #settle(
    served: ServedSession<A>,
    route: Route<A>,
    context: HandlerContext<A>,
    result: PromiseLike<unknown>,
  ): void {
    const { session, cancel, id, trace } = context;
    served.inFlight++;
    if (cancel !== undefined) served.cancellable?.add(id, cancel);
    abortable(Promise.resolve(result), context.signal).then(
      (payload) => payload ?? null,
      // Cancelled, or the connection is gone: no response is owed.
      (error) =>
        session.signal.aborted || cancel?.signal.aborted
          ? undefined
          : { error: this.#wireError(error, session, trace) },
    ).then((payload) => {
      context.clear();
      served.inFlight--;
      if (cancel !== undefined) served.cancellable?.delete(id, cancel);
      // Undefined: the connection is gone or the call cancelled; nobody to answer.
      if (payload !== undefined) this.#reply(served, route.response, id, payload);
    }).catch((error) => this.fault(session, error));
  }

  /**
   * Writes one response. It goes out at once unless the outgoing buffer is
   * full; then it waits its turn (`queueWrite`), and the session keeps
   * serving: the runtime delivers the client's requests whether or not the
   * server reads them, so pausing would only move them to the read queue.
   */
  #reply(served: ServedSession<A>, command: string, id: string, payload: unknown): void {
    let text: string;
    try {
      text = encodeMessage(command, id, payload);
    } catch (error) {
      // The handler returned something JSON cannot encode.
      const { wire, log } = redactInternal(error);
      this.log(log, served.session);
      text = encodeMessage(command, id, { error: wire });
    }
    this.send(served, text);
  }

  /**
   * Sends one frame now, or in its turn once the outgoing buffer has room
   * (`queueWrite`); nothing once the connection has closed.
   */
  send(served: ServedSession<A>, text: string): void {
    try {
      if (served.conn.sendText(text)) return;
    } catch {
      return; // closed: nobody to answer
    }
    // Rejected when closed, or closed for not reading (1008): the session ends.
    this.queueWrite(served, text).catch(() => {});
  }

  /** What the client may see of a handler's error; logs what the operator must see. */
  #wireError(error: unknown, session: Session<A>, trace: TraceContext | undefined): ProtocolError {
    const { wire, log } = redactHandlerError(error);
    if (log !== undefined) this.log(log, session, trace);
    return wire;
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === "function";
}
