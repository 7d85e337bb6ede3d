/**
 * The client's call table: request ids, the calls waiting for their response,
 * one shared timer for all their deadlines, and settling a call from the
 * message that answers it.
 */

import type { API } from "./api.ts";
import { MAX_TIMER_DELAY, realTimers, type Timers } from "./_deadline.ts";
import { InvalidCommandError, ProtocolError } from "./errors.ts";
import type { Incoming } from "./framing.ts";

/** A call waiting for its response; `promise` settles with the response's payload. */
export class PendingCall {
  /** The request id. */
  readonly id: string;
  /** The request command. */
  readonly command: string;
  /** The command that must answer it (`x-request` -> `x-response`), when the API has one. */
  readonly response: string | undefined;
  /** Whether a payload carrying `error` rejects. */
  readonly rejectErrors: boolean;
  /** The timeout, for its message. */
  readonly timeoutMs: number;
  /** When the shared timer times it out (`timers.now()` time); `Infinity` for never. */
  readonly deadline: number;
  readonly promise: Promise<unknown>;
  resolve!: (payload: unknown) => void;
  reject!: (error: unknown) => void;

  // No parameter properties: Node's type stripping (examples/node) refuses them.
  constructor(
    id: string,
    command: string,
    response: string | undefined,
    rejectErrors: boolean,
    timeoutMs: number,
    deadline: number,
  ) {
    this.id = id;
    this.command = command;
    this.response = response;
    this.rejectErrors = rejectErrors;
    this.timeoutMs = timeoutMs;
    this.deadline = deadline;
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/** How many request commands' response commands a call table remembers. */
const MAX_REMEMBERED_COMMANDS = 256;

/** Pending calls by id, with one timer set for the earliest deadline. */
export class CallTable {
  readonly #api: API;
  readonly #timers: Timers;
  readonly #pending = new Map<string, PendingCall>();
  readonly #responses = new Map<string, string | undefined>();
  #timer: unknown;
  #timerAt = Infinity;
  #lastID: number;
  /** Called with each call the shared timer times out (Conn tells the server: `cancel`). */
  onTimeout: ((call: PendingCall) => void) | undefined = undefined;

  /**
   * @param api Names the response command of each request.
   * @param timers The clock and timers; tests pass fakes.
   * @param lastID The id before the first one (tests start near the wrap).
   */
  constructor(api: API, timers: Timers = realTimers, lastID = 0) {
    this.#api = api;
    this.#timers = timers;
    this.#lastID = lastID;
  }

  /** Calls waiting for their response. */
  get size(): number {
    return this.#pending.size;
  }

  /** The next request id: "1", "2", ... */
  newID(): string {
    // Go uses a uint64 counter that skips 0; a JS number wraps at 2^53.
    this.#lastID = this.#lastID >= Number.MAX_SAFE_INTEGER ? 1 : this.#lastID + 1;
    return String(this.#lastID);
  }

  /**
   * Adds a call under `id`. With a `timeoutMs` above 0 and finite, the shared
   * timer rejects it with a `TimeoutError` once that has passed; otherwise the
   * caller bounds it (0 or `Infinity`: no bound).
   */
  open(id: string, command: string, rejectErrors: boolean, timeoutMs: number): PendingCall {
    const deadline = timeoutMs > 0 && Number.isFinite(timeoutMs)
      ? this.#timers.now() + timeoutMs
      : Infinity;
    const response = this.#responseOf(command);
    const call = new PendingCall(id, command, response, rejectErrors, timeoutMs, deadline);
    this.#pending.set(id, call);
    if (deadline < this.#timerAt) this.#arm(deadline);
    return call;
  }

  /** Whether `call` is still pending (not settled, timed out or failed). */
  holds(call: PendingCall): boolean {
    return this.#pending.get(call.id) === call;
  }

  /**
   * Removes the call under `id`. The shared timer stays armed when none is
   * left: calls made one at a time then cost no timer each (it fires once,
   * finds nothing due and stops). `failAll` stops it when the connection ends.
   */
  forget(id: string): void {
    this.#pending.delete(id);
  }

  /** Rejects `call` with `error` (its request could not be sent), removing it if still pending. */
  fail(call: PendingCall, error: unknown): void {
    if (this.holds(call)) this.forget(call.id);
    call.reject(error);
  }

  /** Rejects every pending call with `error` and stops the timer. */
  failAll(error: Error): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#stop();
    for (const call of pending) call.reject(error);
  }

  /**
   * Settles the call that `message` (or the error decoding it) answers, if it
   * answers one. A reply on the call's id with another command than its
   * response command rejects it with an {@linkcode InvalidCommandError}; a
   * payload carrying `error` rejects with a {@linkcode ProtocolError} unless
   * the call said otherwise.
   *
   * @returns Whether a call was settled (else the message is a push).
   */
  settle(message: Incoming | undefined, error: unknown): boolean {
    const id = message?.id ?? (error instanceof InvalidCommandError ? error.id : undefined);
    const call = id ? this.#pending.get(id) : undefined;
    if (call === undefined) return false;
    this.forget(id!);
    if (error !== undefined) call.reject(error);
    else if (call.response !== undefined && message!.command !== call.response) {
      // As a Go client's Call ends with whatever answers its id, and its caller
      // refuses a command it did not ask for: the call fails, nothing hangs.
      call.reject(
        new InvalidCommandError(
          `response ${JSON.stringify(message!.command)} to call ${id}, expected ${
            JSON.stringify(call.response)
          }`,
          { command: message!.command, id: id! },
        ),
      );
    } else {
      const wireError = call.rejectErrors ? errorIn(message!.payload) : undefined;
      if (wireError) call.reject(wireError);
      else call.resolve(message!.payload);
    }
    return true;
  }

  /** `responseCommand`, remembered per request command (a bounded map: a schemaless API allows any). */
  #responseOf(command: string): string | undefined {
    const known = this.#responses.get(command);
    if (known !== undefined || this.#responses.has(command)) return known;
    if (this.#responses.size >= MAX_REMEMBERED_COMMANDS) this.#responses.clear();
    const response = responseCommand(this.#api, command);
    this.#responses.set(command, response);
    return response;
  }

  #stop(): void {
    this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  /** Makes sure the shared timer fires by `at`. */
  #arm(at: number): void {
    this.#timers.clearTimeout(this.#timer);
    this.#timerAt = at;
    // A deadline past the timer limit: the sweep wakes early, finds nothing due and re-arms.
    const delay = Math.min(MAX_TIMER_DELAY, Math.max(0, at - this.#timers.now()));
    this.#timer = this.#timers.setTimeout(() => this.#sweep(), delay);
  }

  /** Times out the calls whose deadline has passed; sets the timer for the next. */
  #sweep(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#timers.now();
    let next = Infinity;
    for (const [id, call] of this.#pending) {
      if (call.deadline <= now) {
        this.#pending.delete(id);
        call.reject(
          new DOMException(
            `Call ${JSON.stringify(call.command)} timed out after ${call.timeoutMs} ms`,
            "TimeoutError",
          ),
        );
        this.onTimeout?.(call);
      } else if (call.deadline < next) next = call.deadline;
    }
    if (next < Infinity) this.#arm(next);
  }
}

/** The response command of request `command` (`x-request` -> `x-response`), if `api` has it. */
export function responseCommand(api: API, command: string): string | undefined {
  if (!command.endsWith("-request")) return undefined;
  const response = `${command.slice(0, -"request".length)}response`;
  return api.has(response) ? response : undefined;
}

/** The `error` of a response payload as a {@linkcode ProtocolError}, if it carries one. */
function errorIn(payload: unknown): ProtocolError | undefined {
  if (payload === null || typeof payload !== "object") return undefined;
  const error = (payload as { error?: unknown }).error;
  if (error === undefined || error === null) return undefined;
  return ProtocolError.fromJSON(error);
}
