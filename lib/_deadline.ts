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
  const timer = ms > 0 && Number.isFinite(ms)
    ? setTimeout(
      () => controller.abort(new DOMException(`${what} timed out after ${ms} ms`, "TimeoutError")),
      ms,
    )
    : undefined;
  return {
    signal: controller.signal,
    clear() {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onAbort);
    },
  };
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
