/**
 * The client's keepalive loop: a ping call at an interval, measuring its
 * round-trip time; a ping that times out ends the connection. `Conn` starts
 * it on each connection and stops it when the connection ends.
 */

import { realTimers, type Timers } from "./_deadline.ts";
import type { KeepaliveOptions } from "./conn_options.ts";

/** Default `KeepaliveOptions.intervalMs`. */
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 30_000;
/** Default `KeepaliveOptions.timeoutMs`. */
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 10_000;

/**
 * The ping command: `command` when given, else the API's command ending in
 * `-ping-request`.
 *
 * @throws {TypeError} When there is none.
 */
export function pingCommandOf(commands: Iterable<string>, command?: string): string {
  if (command !== undefined) return command;
  for (const c of commands) if (c.endsWith("-ping-request")) return c;
  throw new TypeError("Cannot keep alive: no ping command (set keepalive.command)");
}

/** What the loop does on the connection. */
export interface KeepaliveHooks {
  /** Sends a ping call that rejects with a `TimeoutError` after `timeoutMs`. */
  ping(timeoutMs: number): Promise<unknown>;
  /** The ping timed out: end the connection. */
  expire(): void;
}

/** A ping every `intervalMs` while started; `rtt` is the last ping's round trip. */
export class Keepalive {
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #hooks: KeepaliveHooks;
  readonly #timers: Timers;
  #timer: unknown;
  /** Counts starts and stops: a ping from an earlier run neither reschedules nor expires. */
  #run = 0;
  #rtt: number | undefined;

  constructor(
    options: KeepaliveOptions,
    hooks: KeepaliveHooks,
    timers: Timers = realTimers,
  ) {
    this.#intervalMs = options.intervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_KEEPALIVE_TIMEOUT_MS;
    this.#hooks = hooks;
    this.#timers = timers;
  }

  /** Round-trip time of the last answered ping, in milliseconds. */
  get rtt(): number | undefined {
    return this.#rtt;
  }

  /** Pings after each interval from now on (a new connection). */
  start(): void {
    this.stop();
    this.#schedule(this.#run);
  }

  /** Stops pinging (the connection ended); a ping in flight is ignored. */
  stop(): void {
    this.#run++;
    this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(run: number): void {
    this.#timer = this.#timers.setTimeout(() => this.#ping(run), this.#intervalMs);
  }

  async #ping(run: number): Promise<void> {
    const start = this.#timers.now();
    try {
      await this.#hooks.ping(this.#timeoutMs);
      this.#rtt = this.#timers.now() - start;
      if (run === this.#run) this.#schedule(run);
    } catch (error) {
      if (run !== this.#run) return;
      if ((error as Error)?.name === "TimeoutError") this.#hooks.expire();
      else this.#schedule(run);
    }
  }
}
