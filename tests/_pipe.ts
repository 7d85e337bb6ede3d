/**
 * An in-memory pair of linked {@linkcode APIConn}s for tests: what one end
 * writes, the other reads, in order. Values are copied through JSON, as on
 * the wire. Each end records what it wrote in `sent`.
 */

import type { APIConn } from "../lib/message.ts";

/** One end of a {@linkcode pipe}. */
export interface PipeEnd extends APIConn {
  /** Every value this end wrote, in order (as JSON copies). */
  readonly sent: unknown[];
  /** Closes both ends: pending and later reads and writes reject with `reason`. */
  close(reason?: unknown): void;
}

class End implements PipeEnd {
  readonly sent: unknown[] = [];
  peer!: End;
  #inbox: unknown[] = [];
  #waiters: { resolve: (value: unknown) => void; reject: (reason: unknown) => void }[] = [];
  #closed: { reason: unknown } | undefined;

  readJSON(signal?: AbortSignal): Promise<unknown> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#inbox.length > 0) return Promise.resolve(this.#inbox.shift());
    if (this.#closed) return Promise.reject(this.#closed.reason);
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (value: unknown) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(value);
        },
        reject: (reason: unknown) => {
          signal?.removeEventListener("abort", onAbort);
          reject(reason);
        },
      };
      const onAbort = () => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  writeJSON(value: unknown, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#closed) return Promise.reject(this.#closed.reason);
    const copy = JSON.parse(JSON.stringify(value));
    this.sent.push(copy);
    this.peer.#deliver(JSON.parse(JSON.stringify(value)));
    return Promise.resolve();
  }

  close(reason: unknown = new Error("pipe closed")): void {
    this.#shut(reason);
    this.peer.#shut(reason);
  }

  #deliver(value: unknown): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(value);
    else this.#inbox.push(value);
  }

  #shut(reason: unknown): void {
    if (this.#closed) return;
    this.#closed = { reason };
    for (const waiter of this.#waiters.splice(0)) waiter.reject(reason);
  }
}

/**
 * Makes two linked connections.
 *
 * @returns `[a, b]`: `a` reads what `b` writes and the reverse.
 */
export function pipe(): [PipeEnd, PipeEnd] {
  const a = new End();
  const b = new End();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
