/**
 * A fake clock and timers for the client's units (`Timers` of
 * lib/_deadline.ts): time moves only when a test calls `advance`.
 */
import type { Timers } from "../lib/_deadline.ts";

interface Timer {
  at: number;
  callback: () => void;
}

/** Timers whose clock starts at 0 and moves by `advance(ms)`, firing what falls due in order. */
export class FakeTimers implements Timers {
  #now = 0;
  readonly #timers = new Set<Timer>();
  /** Every delay asked of `setTimeout`, in order. */
  readonly delays: number[] = [];

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    this.delays.push(ms);
    const timer = { at: this.#now + ms, callback };
    this.#timers.add(timer);
    return timer;
  }

  clearTimeout(timer: unknown): void {
    this.#timers.delete(timer as Timer);
  }

  /** Timers set and not yet fired or cleared. */
  get active(): number {
    return this.#timers.size;
  }

  /** Moves the clock by `ms`, firing each timer that falls due at its own time. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const t of this.#timers) if (t.at <= until && (!next || t.at < next.at)) next = t;
      if (next === undefined) break;
      this.#timers.delete(next);
      this.#now = Math.max(this.#now, next.at);
      next.callback();
    }
    this.#now = until;
  }
}
