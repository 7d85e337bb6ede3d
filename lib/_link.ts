/**
 * The connection under a `Conn`: the state machine (idle, connecting, online,
 * reconnecting, closed), the dial, a drop and the reconnects after it (with
 * backoff), and waiting for the next connection. What lives and dies with one
 * connection starts and stops here: the extensions' negotiation, keepalive,
 * the socket's frames to the inbox; pending calls fail when it ends. `Conn`
 * keeps the public API and the call's fast path.
 */

import { abortable, deadline, settledWithin } from "./_deadline.ts";
import { backoffDelay, DEFAULT_BACKOFF } from "./_backoff.ts";
import type { CallTable } from "./_call_table.ts";
import type { ClientExtensions } from "./_client_extensions.ts";
import type { ConnOptions, ReconnectOptions } from "./conn_options.ts";
import { greet, openSocket } from "./_dial.ts";
import type { Inbox } from "./_inbox.ts";
import type { Keepalive } from "./_keepalive.ts";
import type { PushQueue } from "./_push_queue.ts";
import { CloseCode, ConnectionClosedError } from "./errors.ts";
import { DEFAULT_READ_LIMIT, WS_CONNECT_TIMEOUT_MS } from "./message.ts";
import { FrameSocket } from "./_frames.ts";

/** Where a Conn stands. */
export type LinkState = "idle" | "connecting" | "online" | "reconnecting" | "closed";

/** The options a link reads (none depend on the API). */
export type LinkOptions = Omit<ConnOptions, "api">;

/** The parts of a Conn whose work follows its connections. */
export interface LinkParts {
  readonly calls: CallTable;
  readonly extensions: ClientExtensions;
  readonly inbox: Inbox;
  readonly pushes: PushQueue;
  readonly keepalive: Keepalive | undefined;
}

/** One Conn's connections, one at a time. */
export class Link {
  readonly url: string;
  readonly options: LinkOptions;
  readonly calls: CallTable;
  readonly extensions: ClientExtensions;
  readonly #parts: LinkParts;
  readonly #reconnect: Required<ReconnectOptions> | undefined;
  readonly #onlineWaiters = new Set<() => void>();
  #state: LinkState = "idle";
  #ws: FrameSocket | undefined;
  #dialing: Promise<void> | undefined;
  #dialAbort: AbortController | undefined;
  #lastError: Error | undefined;
  #connectCount = 0;
  #attempt = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(url: string, options: LinkOptions, parts: LinkParts) {
    this.url = url;
    this.options = options;
    this.calls = parts.calls;
    this.extensions = parts.extensions;
    this.#parts = parts;
    this.#reconnect = options.reconnect
      ? { ...DEFAULT_BACKOFF, ...(options.reconnect === true ? {} : options.reconnect) }
      : undefined;
  }

  /** Where it stands. */
  get state(): LinkState {
    return this.#state;
  }

  /** The socket of the current connection (undefined unless online). */
  get ws(): FrameSocket | undefined {
    return this.#ws;
  }

  /** How many times a connection has been established. */
  get connectCount(): number {
    return this.#connectCount;
  }

  /** Connects, or joins a dial in progress; resolves at once when online. */
  async connect(signal: AbortSignal | undefined): Promise<void> {
    if (this.#state === "online") return;
    if (this.#state === "closed" || this.#state === "idle") this.#state = "connecting";
    clearTimeout(this.#reconnectTimer);
    this.#dialing ??= this.#dial().finally(() => this.#dialing = undefined);
    await (signal ? abortable(this.#dialing, signal) : this.#dialing);
  }

  /** Closes for good (see `Conn.close`); resolves once the socket has closed (at most 2 s). */
  async close(code: number, reason: string): Promise<void> {
    const ws = this.#ws;
    const wasClosed = this.#state === "closed";
    this.#state = "closed";
    this.#ws = undefined;
    clearTimeout(this.#reconnectTimer);
    this.#parts.keepalive?.stop();
    const error = new ConnectionClosedError(code, reason);
    this.#dialAbort?.abort(error);
    this.#lastError = error;
    this.calls.failAll(error);
    this.#wakeAll();
    if (ws === undefined) return;
    ws.close(code, reason);
    if (!wasClosed) this.options.onDisconnect?.(error);
    await settledWithin(ws.closed, 2_000, undefined);
  }

  /** The socket once the connect or reconnect under way succeeds (not called while online). */
  waitOnline(signal: AbortSignal): Promise<FrameSocket> {
    if (this.#state !== "connecting" && this.#state !== "reconnecting") {
      return Promise.reject(this.notConnected());
    }
    return abortable(
      new Promise<void>((resolve) => this.#onlineWaiters.add(resolve)),
      signal,
    ).then(() => {
      if (this.#state !== "online") throw this.notConnected();
      return this.#ws!;
    });
  }

  /** Tells the server (`cancel`) that call `id`, sent on `ws`, is abandoned; not after a reconnect. */
  cancel(ws: FrameSocket | undefined, id: string): void {
    if (ws !== undefined && ws === this.#ws) this.extensions.cancel(ws, id);
  }

  /** Why a read waiting for pushes must stop, once none is left: closed, or dropped for good. */
  readonly readEnded = (): Error | undefined =>
    this.#state === "closed" || this.#state === "idle" ? this.notConnected() : undefined;

  /** The error for an operation that needs a connection: the last close, or why the last dial failed. */
  notConnected(): Error {
    if (this.#lastError instanceof ConnectionClosedError) return this.#lastError;
    return new ConnectionClosedError(CloseCode.AbnormalClosure, "", {
      cause: this.#lastError,
    });
  }

  async #dial(): Promise<void> {
    const options = this.options;
    // close() aborts a dial in progress.
    const abort = this.#dialAbort = new AbortController();
    const timeout = deadline(
      options.connectTimeoutMs ?? WS_CONNECT_TIMEOUT_MS,
      "Connect",
      abort.signal,
    );
    let ws: FrameSocket | undefined;
    let first: unknown;
    try {
      // Inside the try: a factory or WebSocket constructor that throws is a failed dial.
      const socket = openSocket(this.url, options);
      ws = new FrameSocket(socket, {
        readLimit: options.readLimit ?? DEFAULT_READ_LIMIT,
        ...(options.maxDepth === undefined ? {} : { maxDepth: options.maxDepth }),
      });
      first = await greet(this.url, socket, ws, options, timeout.signal);
      options.onMessage?.("receive", first);
    } catch (error) {
      ws?.close(CloseCode.Normal, "");
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
      ws.close(CloseCode.Normal, "");
      throw this.#lastError ?? new ConnectionClosedError(CloseCode.Normal, "");
    }
    // Accepting an offer is the first frame after the ping; no offer, nothing new.
    this.extensions.negotiate(first, ws);
    this.#ws = ws;
    this.#state = "online";
    this.#connectCount++;
    this.#attempt = 0;
    for (const wake of this.#onlineWaiters) wake();
    this.#onlineWaiters.clear();
    this.#parts.keepalive?.start();
    options.onConnect?.();
    ws.listen({
      value: (raw, length) => {
        try {
          this.#receive(raw, length);
        } catch (error) {
          // Only a user's onMessage hook can throw here; never into the socket's event handler.
          ws.close(CloseCode.InternalError, "client error");
          this.#dropped(ws, error);
        }
      },
      end: (error) => this.#dropped(ws, error),
    });
  }

  /** One incoming message, delivered synchronously from the socket's message event. */
  #receive(raw: unknown, length: number): void {
    this.options.onMessage?.("receive", raw);
    if (this.extensions.accepted.length > 0 && this.extensions.intercept(raw)) return;
    this.#parts.inbox.receive(raw, length);
  }

  /** The socket `ws` ended on its own (not by `close()`). */
  #dropped(ws: FrameSocket, failure: unknown): void {
    if (this.#ws !== ws) return;
    this.#ws = undefined;
    this.extensions.reset();
    this.#parts.keepalive?.stop();
    const error = failure instanceof ConnectionClosedError
      ? failure
      : new ConnectionClosedError(CloseCode.AbnormalClosure, "", { cause: failure });
    this.#lastError = error;
    this.calls.failAll(error);
    this.#state = this.#reconnect ? "reconnecting" : "idle";
    this.options.onDisconnect?.(error);
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
    this.#reconnectTimer = setTimeout(() => {
      if (this.#state !== "reconnecting") return;
      this.#dialing ??= this.#dial().finally(() => this.#dialing = undefined);
      this.#dialing.catch(() => {}); // #dial schedules the next attempt
    }, backoffDelay(this.#attempt++, r));
  }

  #wakeAll(): void {
    this.#parts.pushes.wakeAll();
    for (const wake of this.#onlineWaiters) wake();
    this.#onlineWaiters.clear();
  }
}
