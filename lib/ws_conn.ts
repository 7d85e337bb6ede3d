/**
 * `WSConn`: the protocol's `APIConn` over any standard `WebSocket`.
 *
 * @module
 */

import { CloseCode } from "./close_code.ts";
import type { APIConn } from "./message.ts";
import { FrameSocket } from "./_frames.ts";
import type { CloseInfo, WebSocketLike, WSConnOptions } from "./_socket.ts";

export type { CloseInfo, WebSocketLike, WSConnOptions } from "./_socket.ts";

/**
 * An {@linkcode APIConn} over a standard `WebSocket` (Go `WSConn`): one JSON
 * document per text frame, with a read limit, a nesting limit and write
 * backpressure.
 *
 * Incoming frames are queued in arrival order until read; one reader at a
 * time. Writes may overlap: each is one `send`, so frames never interleave.
 * Writes made while the socket is still connecting are sent once it opens.
 *
 * Bad input closes the connection with a defined status, and the pending or
 * next `readJSON` rejects:
 * - a binary frame: 1003 `expected text message`, {@linkcode ConnectionClosedError};
 * - a message over the read limit: 1009 `read limited at N bytes`, {@linkcode ConnectionClosedError}
 *   (a client socket that may not send 1009, as in Deno and browsers, sends 4009 with that reason);
 * - nesting deeper than `maxDepth`: 1009, {@linkcode ConnectionClosedError};
 * - text that is not JSON: 1007 `failed to unmarshal JSON`, `SyntaxError`.
 *
 * Messages received before the socket closed are still read in order; after
 * them, reads reject with {@linkcode ConnectionClosedError}.
 *
 * @example Wrapping a server-side socket in Deno
 * ```ts ignore
 * import { WSConn } from "@wsrpc/protocol";
 *
 * Deno.serve((req) => {
 *   const { socket, response } = Deno.upgradeWebSocket(req);
 *   const conn = new WSConn(socket, { readLimit: 1 << 20 });
 *   (async () => {
 *     for (;;) await conn.writeJSON(await conn.readJSON()); // echo
 *   })().catch(() => conn.close());
 *   return response;
 * });
 * ```
 */
export class WSConn implements APIConn, AsyncDisposable {
  readonly #frames: FrameSocket;

  /**
   * Wraps a socket. Attach before the first message can arrive: right after
   * `new WebSocket(...)` or `Deno.upgradeWebSocket(...)`.
   *
   * @param socket A standard `WebSocket`, open or connecting.
   * @param options Limits.
   */
  constructor(socket: WebSocketLike, options: WSConnOptions = {}) {
    this.#frames = new FrameSocket(socket, options);
  }

  /** Resolves with the close status once the socket has closed. */
  get closed(): Promise<CloseInfo> {
    return this.#frames.closed;
  }

  /** Whether the socket is open (not connecting, closing or closed). */
  get isOpen(): boolean {
    return this.#frames.isOpen;
  }

  /** Bytes written and not yet sent. */
  get bufferedAmount(): number {
    return this.#frames.bufferedAmount;
  }

  /**
   * Milliseconds since writes waiting for room last made progress (the
   * outgoing buffer drained, or a waiting write went out); 0 when none wait.
   */
  get writeStalledMs(): number {
    return this.#frames.writeStalledMs;
  }

  /**
   * Reads the next JSON document. Integers beyond 2^53 - 1 decode as `bigint`.
   *
   * @param signal Cancels the wait; the frame stays queued for the next read.
   * @returns The decoded document.
   * @throws {ConnectionClosedError} When the socket has closed and every earlier message was read.
   * @throws {SyntaxError} When the frame was not JSON (the connection is closed with 1007).
   */
  readJSON(signal?: AbortSignal): Promise<unknown> {
    return this.#frames.readJSON(signal);
  }

  /**
   * Writes one JSON document as one text frame. `bigint` encodes as an
   * integer. Waits while the socket's outgoing buffer is over the high-water
   * mark (writes that wait go out in call order); closes the connection with
   * 1008 when the buffer does not drain for `writeTimeoutMs`.
   *
   * @param value The document.
   * @param signal Cancels a wait for buffer space.
   * @throws {ConnectionClosedError} When the socket is closed.
   */
  writeJSON(value: unknown, signal?: AbortSignal): Promise<void> {
    return this.#frames.writeJSON(value, signal);
  }

  /**
   * Writes pre-encoded JSON text as one text frame, as `writeJSON` does.
   *
   * @param text JSON text.
   * @param signal Cancels a wait for buffer space.
   * @throws {ConnectionClosedError} When the socket is closed.
   */
  writeText(text: string, signal?: AbortSignal): Promise<void> {
    return this.#frames.writeText(text, signal);
  }

  /**
   * Sends pre-encoded JSON text as one text frame now, without waiting: the
   * synchronous fast path of `writeText`. Sends nothing and returns false
   * when the outgoing buffer is over the high-water mark or earlier writes
   * wait for room; then call `writeText`, which waits its turn.
   *
   * @param text JSON text.
   * @returns Whether the frame was sent (or queued until the socket opens).
   * @throws {ConnectionClosedError} When the socket is closed.
   */
  sendText(text: string): boolean {
    return this.#frames.sendText(text);
  }

  /**
   * Closes the connection (RFC 6455 §7.1.2); idempotent. The reason is cut to
   * 123 UTF-8 bytes. Pending reads reject with {@linkcode ConnectionClosedError}.
   *
   * @param code The close code.
   * @param reason The close reason.
   */
  close(code: number = CloseCode.Normal, reason = ""): void {
    this.#frames.close(code, reason);
  }

  /**
   * Closes with a status, as Go's `CloseStatus`; the same as `close`.
   *
   * @param code The close code.
   * @param reason The close reason.
   */
  closeStatus(code: number, reason: string): void {
    this.#frames.close(code, reason);
  }

  /** Closes with 1000 and waits until the socket has closed. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#frames.close();
    await this.#frames.closed;
  }
}
