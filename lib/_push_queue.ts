/**
 * The client's push queue: messages that answer no call wait here for
 * `Conn.read`, bounded by count and by bytes; past either bound the oldest are
 * dropped and counted.
 */

import { abortable } from "./_deadline.ts";
import type { Incoming } from "./framing.ts";

/** Default `pushQueueSize`: pushes held for `read` at most. */
export const DEFAULT_PUSH_QUEUE_SIZE = 1024;
/** Default `pushQueueBytes`: 8 MiB of pushes waiting for `read`. */
export const DEFAULT_PUSH_QUEUE_BYTES = 8 * 1024 * 1024;
/** Bytes counted per queued push on top of its frame length (entry, decoded value). */
export const PUSH_OVERHEAD = 64;

/** One queued push: the raw document, and its decoded message or why it did not decode. */
export interface PushEntry {
  raw: unknown;
  /** What it counts toward the byte bound. */
  size: number;
  message?: Incoming;
  error?: unknown;
}

/** A FIFO of pushes bounded by count and bytes, with waiting readers. */
export class PushQueue {
  readonly #limit: number;
  readonly #byteLimit: number;
  readonly #entries: PushEntry[] = [];
  readonly #waiters = new Set<() => void>();
  #bytes = 0;
  #dropped = 0;

  /**
   * @param limit Entries held at most (the newest is always kept).
   * @param byteLimit Bytes held at most (the newest is always kept, whatever its size).
   */
  constructor(limit = DEFAULT_PUSH_QUEUE_SIZE, byteLimit = DEFAULT_PUSH_QUEUE_BYTES) {
    this.#limit = limit;
    this.#byteLimit = byteLimit;
  }

  /** Entries waiting. */
  get length(): number {
    return this.#entries.length;
  }

  /** Bytes waiting, as counted against the byte bound. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Entries dropped because a bound was reached. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Queues a push whose frame was `length` long, dropping the oldest past the
   * bounds, and wakes one waiting reader.
   */
  push(raw: unknown, length: number, message: Incoming | undefined, error: unknown): void {
    const size = length + PUSH_OVERHEAD;
    this.#entries.push(
      error === undefined ? { raw, size, message: message! } : { raw, size, error },
    );
    this.#bytes += size;
    while (
      this.#entries.length > 1 &&
      (this.#entries.length > this.#limit || this.#bytes > this.#byteLimit)
    ) {
      this.#bytes -= this.#entries.shift()!.size;
      this.#dropped++;
    }
    const [wake] = this.#waiters;
    if (wake) {
      this.#waiters.delete(wake);
      wake();
    }
  }

  /**
   * The oldest entry, waiting for one while `ended()` returns nothing; rejects
   * with what `ended()` returns once the queue is empty, or with the signal's reason.
   */
  async next(signal: AbortSignal | undefined, ended: () => Error | undefined): Promise<PushEntry> {
    for (;;) {
      const entry = this.#entries.shift();
      if (entry !== undefined) {
        this.#bytes -= entry.size;
        return entry;
      }
      const error = ended();
      if (error !== undefined) throw error;
      signal?.throwIfAborted();
      let wake!: () => void;
      const woken = new Promise<void>((resolve) => wake = resolve);
      this.#waiters.add(wake);
      try {
        await (signal ? abortable(woken, signal) : woken);
      } finally {
        this.#waiters.delete(wake);
      }
    }
  }

  /** Wakes every waiting reader, to look at `ended()` again. */
  wakeAll(): void {
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }
}
