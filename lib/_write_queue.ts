/**
 * Write backpressure for the frame layer: sends at once while the socket's
 * outgoing buffer has room, otherwise queues writes in order and sends them
 * as it drains; a buffer that does not drain at all for the write timeout
 * ends the connection.
 *
 * @module
 */

import type { WebSocketLike } from "./_socket.ts";

/** Bytes counted per unsent message on top of its length: the runtime's cost per queued frame. */
const SENT_MESSAGE_OVERHEAD = 1024;
/** How often waiting writes look for room in the outgoing buffer. */
const PUMP_INTERVAL_MS = 5;

/** A write waiting for room in the outgoing buffer. */
export interface QueuedWrite {
  text: string;
  settle(error?: unknown): void;
  /** True once nobody waits for the write: it is skipped. */
  withdrawn?: (() => boolean) | undefined;
}

/** The outgoing side of one socket: writes in call order, within a high-water mark. */
export class WriteQueue {
  readonly #socket: WebSocketLike;
  readonly #highWater: number;
  readonly #timeoutMs: number;
  readonly #timedOut: () => void;
  /** Running average size of written messages, to estimate how many are queued. */
  #averageSize = 0;
  /** Writes waiting for room in the outgoing buffer, sent in order by one timer. */
  #writes: (QueuedWrite | undefined)[] = [];
  #head = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the outgoing buffer last drained (or a waiting write went out), and its size then. */
  #progressAt = 0;
  #lastBuffered = 0;
  /**
   * An upper bound on the pressure: its last reading plus what was sent
   * since (at most 3 UTF-8 bytes per UTF-16 unit, plus the per-message
   * overhead); the buffer only drains in between.
   */
  #bound = 0;
  #ended = false;

  /**
   * @param socket Where writes go.
   * @param highWater Outgoing bytes (with per-message overhead) before writes wait.
   * @param timeoutMs How long writes may wait without the buffer draining.
   * @param timedOut Called when they waited that long: the owner ends the connection.
   */
  constructor(socket: WebSocketLike, highWater: number, timeoutMs: number, timedOut: () => void) {
    this.#socket = socket;
    this.#highWater = highWater;
    this.#timeoutMs = timeoutMs;
    this.#timedOut = timedOut;
  }

  /**
   * Milliseconds since waiting writes last made progress (the outgoing buffer
   * drained, or a waiting write went out); 0 when none wait.
   */
  get stalledMs(): number {
    if (this.#head === this.#writes.length) return 0;
    if (this.#socket.bufferedAmount < this.#lastBuffered) return 0;
    return Date.now() - this.#progressAt;
  }

  /** Sends `text` now and returns true, unless writes wait or the buffer is over the mark. */
  trySend(text: string): boolean {
    this.#averageSize += (text.length - this.#averageSize) / 16;
    if (this.#head < this.#writes.length) return false;
    // `bufferedAmount` is a call into the runtime (an op on Deno): read it
    // only once the bound on the pressure says the mark may be near.
    if (this.#bound > this.#highWater) {
      this.#bound = this.#pressure();
      if (this.#bound > this.#highWater) return false;
    }
    this.sendNow(text);
    return true;
  }

  /** Sends `text` whatever the buffer holds (the writes made while connecting). */
  sendNow(text: string): void {
    this.#socket.send(text);
    this.#bound += text.length * 3 + SENT_MESSAGE_OVERHEAD;
  }

  /** Queues a write until the outgoing buffer has room; `signal` withdraws it. */
  wait(text: string, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        write.withdrawn = () => true;
        write.settle(signal!.reason);
      };
      const write: QueuedWrite = {
        text,
        settle: (error) => {
          signal?.removeEventListener("abort", onAbort);
          if (error === undefined) resolve();
          else reject(error);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.add(write);
    });
  }

  /** Queues `write` behind the writes already waiting. */
  add(write: QueuedWrite): void {
    if (this.#head === this.#writes.length) {
      // The wait starts now: the timeout counts from here, or from the last drain.
      this.#progressAt = Date.now();
      this.#lastBuffered = this.#socket.bufferedAmount;
    }
    this.#writes.push(write);
    this.#timer ??= setTimeout(() => this.#pump(), PUMP_INTERVAL_MS);
  }

  /** The connection ended: settles every waiting write with `error`; nothing more is sent. */
  fail(error: unknown): void {
    this.#ended = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const writes = this.#writes;
    const head = this.#head;
    this.#writes = [];
    this.#head = 0;
    for (let i = head; i < writes.length; i++) writes[i]?.settle(error);
  }

  /**
   * What the unsent messages cost: `bufferedAmount` counts only their bytes,
   * so add the per-message overhead for as many messages as those bytes hold
   * at the average message size.
   */
  #pressure(): number {
    const buffered = this.#socket.bufferedAmount;
    if (buffered === 0) return 0;
    return buffered + Math.ceil(buffered / Math.max(1, this.#averageSize)) * SENT_MESSAGE_OVERHEAD;
  }

  /**
   * Sends waiting writes, in order, while the outgoing buffer has room. A
   * peer whose buffer drains at all keeps its writes; one whose buffer has
   * not drained for the timeout is reported through `timedOut`.
   */
  #pump(): void {
    this.#timer = undefined;
    if (this.#ended) return;
    const now = Date.now();
    if (this.#socket.bufferedAmount < this.#lastBuffered) this.#progressAt = now;
    const writes = this.#writes;
    while (this.#head < writes.length && this.#pressure() <= this.#highWater) {
      const write = writes[this.#head]!;
      writes[this.#head++] = undefined;
      if (write.withdrawn?.()) continue;
      this.#socket.send(write.text);
      this.#bound = Infinity; // read the buffer again before the next direct send
      this.#progressAt = now;
      write.settle();
    }
    this.#lastBuffered = this.#socket.bufferedAmount;
    if (this.#head === writes.length) {
      this.#writes = [];
      this.#head = 0;
      return;
    }
    if (this.#head > 1024 && this.#head * 2 > writes.length) {
      writes.splice(0, this.#head);
      this.#head = 0;
    }
    if (now - this.#progressAt >= this.#timeoutMs) {
      this.#timedOut();
      return;
    }
    // Draining: look again at once; stalled: poll.
    const wait = this.#progressAt === now ? 0 : PUMP_INTERVAL_MS;
    this.#timer = setTimeout(() => this.#pump(), wait);
  }
}
