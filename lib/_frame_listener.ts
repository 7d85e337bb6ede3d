/**
 * Synchronous frame delivery from a {@linkcode WSConn}, kept out of its public
 * surface. `Conn` takes every decoded frame in the socket's own message event
 * instead of through one `await readJSON()` per message (two promise hops each).
 */

/**
 * What a listener gets: each decoded JSON document with its frame's length
 * (UTF-16 code units, as the read queue counts it), then once the reason it ended.
 */
export interface FrameListener {
  value(value: unknown, length: number): void;
  end(error: unknown): void;
}

/** Per connection, the function that attaches (or, with `undefined`, detaches) a listener. */
export const frameListeners: WeakMap<object, (listener: FrameListener | undefined) => void> =
  new WeakMap();

/**
 * Delivers `conn`'s frames to `listener` from now on: first those already
 * queued, then each as it arrives. `readJSON` may not be used meanwhile.
 */
export function listenFrames(conn: object, listener: FrameListener): void {
  frameListeners.get(conn)!(listener);
}

/**
 * Pauses delivery of `conn`'s frames (backpressure): they queue, within the
 * connection's read-queue limit, until `listenFrames` with the same listener
 * resumes delivery. The listener still hears of the end while paused.
 */
export function pauseFrames(conn: object): void {
  frameListeners.get(conn)!(undefined);
}
