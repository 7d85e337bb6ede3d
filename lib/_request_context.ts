/**
 * The context a handler gets with each request: its id and command, the
 * session, the trace context, and a `signal` made only when asked for.
 *
 * It is a class, not an object literal with closures, and it holds no
 * reference to the request's payload: V8 may pretenure (allocate in the old
 * generation) objects made at a hot allocation site, and an old object that
 * points at a young payload keeps it alive through every scavenge until the
 * next full collection. On a 64 KiB echo that retention promoted nearly every
 * payload and doubled the server's CPU per call.
 */

import type { API, CommandOf } from "./api.ts";
import { deadline } from "./_deadline.ts";
import type { TraceContext } from "./message.ts";
import type { Session } from "./session.ts";
import type { RequestContext } from "./server_options.ts";

/** One request's context; `clear()` stops its timeout once the handler is done. */
export class HandlerContext<A extends API> implements RequestContext<A> {
  readonly id: string;
  readonly command: CommandOf<A>;
  readonly session: Session<A>;
  readonly trace: TraceContext | undefined;
  /** Aborted by the client's `wsrpc-cancel`, when the session negotiated `cancel`. */
  readonly cancel: AbortController | undefined;
  readonly #timeoutMs: number;
  #timeout: { signal: AbortSignal; clear(): void } | undefined = undefined;

  constructor(
    id: string,
    command: CommandOf<A>,
    session: Session<A>,
    trace: TraceContext | undefined,
    cancel: AbortController | undefined,
    timeoutMs: number,
  ) {
    this.id = id;
    this.command = command;
    this.session = session;
    this.trace = trace;
    this.cancel = cancel;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Aborts when the request times out, is cancelled, or the session ends.
   * The timer and controller behind it are made on first use: a synchronous
   * handler that never reads it, such as a ping, costs no timer.
   */
  get signal(): AbortSignal {
    this.#timeout ??= deadline(
      this.#timeoutMs,
      `Request ${JSON.stringify(this.command)}`,
      this.cancel === undefined
        ? this.session.signal
        : AbortSignal.any([this.session.signal, this.cancel.signal]),
    );
    return this.#timeout.signal;
  }

  /** Stops the timeout, if one was made. */
  clear(): void {
    if (this.#timeout !== undefined) this.#timeout.clear();
  }
}
