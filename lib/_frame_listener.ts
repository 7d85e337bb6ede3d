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

/** Per connection, the function that attaches a listener. */
export const frameListeners: WeakMap<object, (listener: FrameListener) => void> = new WeakMap();

/**
 * Delivers `conn`'s frames to `listener` from now on: first those already
 * queued, then each as it arrives. `readJSON` may not be used meanwhile.
 */
export function listenFrames(conn: object, listener: FrameListener): void {
  frameListeners.get(conn)!(listener);
}

/** Per connection, the function that queues a write until the outgoing buffer has room. */
export const roomWriters: WeakMap<
  object,
  (text: string, withdrawn: () => boolean, failed: (error: unknown) => void) => void
> = new WeakMap();

/**
 * Queues `text` on `conn` behind earlier waiting writes, to be sent once the
 * outgoing buffer has room, unless `withdrawn()` is true by then; `failed`
 * hears why if the connection ends first. The cheap form of
 * `writeText(text, signal)` for many writes: no signal and no promise each.
 */
export function writeWhenRoom(
  conn: object,
  text: string,
  withdrawn: () => boolean,
  failed: (error: unknown) => void,
): void {
  roomWriters.get(conn)!(text, withdrawn, failed);
}
