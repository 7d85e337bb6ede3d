/**
 * A signal that aborts when `parent` aborts or after `ms` milliseconds, with a
 * `TimeoutError` `DOMException` that says what timed out. Call `clear()` once
 * the guarded work is done so no timer outlives it. `ms` of 0 or `Infinity`
 * means no timeout.
 */
export function deadline(
  ms: number,
  what: string,
  parent?: AbortSignal,
): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const onAbort = () => controller.abort(parent!.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener("abort", onAbort, { once: true });
  const cancel = ms > 0 && Number.isFinite(ms)
    ? longTimeout(
      () => controller.abort(new DOMException(`${what} timed out after ${ms} ms`, "TimeoutError")),
      ms,
    )
    : undefined;
  return {
    signal: controller.signal,
    clear() {
      cancel?.();
      parent?.removeEventListener("abort", onAbort);
    },
  };
}

/**
 * The longest delay timers honour: 2^31 - 1 ms (about 24.8 days). A longer
 * one overflows the 32-bit delay and fires at once (HTML timers, Node, Bun).
 */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** The clock and timers {@linkcode longTimeout} uses; tests pass fakes. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
  now(): number;
}

export const realTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
  now: () => performance.now(),
};

/**
 * Calls `callback` once `ms` milliseconds have passed, chaining timers of at
 * most {@linkcode MAX_TIMER_DELAY} for longer delays (as std's `delay` does).
 * Returns a function that cancels it.
 */
export function longTimeout(callback: () => void, ms: number, timers = realTimers): () => void {
  const due = timers.now() + ms;
  let timer: unknown;
  const arm = () => {
    const left = due - timers.now();
    timer = left > MAX_TIMER_DELAY
      ? timers.setTimeout(arm, MAX_TIMER_DELAY)
      : timers.setTimeout(callback, Math.max(0, left));
  };
  arm();
  return () => timers.clearTimeout(timer);
}

/** Rejects with `signal.reason` when `signal` aborts, else settles as `promise` does. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {}); // nobody waits for it any more
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** Settles as `promise` does, or resolves with `fallback` after `ms` milliseconds. */
export async function settledWithin<T, F>(
  promise: Promise<T>,
  ms: number,
  fallback: F,
): Promise<T | F> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<F>((resolve) => timer = setTimeout(() => resolve(fallback), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
