/**
 * What the adapters' `WebSocketLike` views (Bun's, Cloudflare's) share: the
 * ready state, the listeners, and the events they hand the server core.
 * Private.
 *
 * @module
 */

import { CloseCode } from "./close_code.ts";

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;

type Listener = (event: Event) => void;

/** Listener bookkeeping and the `message` and `close` events, fed by an adapter. */
export class EventSocket {
  binaryType = "arraybuffer";
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  protected state: number;
  readonly #listeners = new Map<string, Listener[]>();

  constructor(state: number) {
    this.state = state;
  }

  get readyState(): number {
    return this.state;
  }

  addEventListener(type: string, listener: Listener): void {
    const list = this.#listeners.get(type);
    if (list === undefined) this.#listeners.set(type, [listener]);
    else list.push(listener);
  }

  onMessage(data: string | ArrayBuffer | Uint8Array): void {
    if (this.state === CLOSED) return;
    const listeners = this.#listeners.get("message");
    if (listeners === undefined) return;
    // Built here, not through `emit`: one small object per frame, no spread.
    const event = { type: "message", data } as unknown as Event;
    for (let i = 0; i < listeners.length; i++) listeners[i]!(event);
  }

  /** Closed: the state becomes CLOSED and listeners hear `close`. */
  protected closed(code: number, reason: string): void {
    this.state = CLOSED;
    this.emit("close", { code, reason, wasClean: code !== CloseCode.AbnormalClosure });
  }

  protected emit(type: string, fields: Record<string, unknown>): void {
    const listeners = this.#listeners.get(type);
    if (listeners === undefined) return;
    // WSConn reads only `data`, `code` and `reason`: a plain object is enough
    // and avoids building a DOM event per frame.
    const event = { type, ...fields } as unknown as Event;
    for (const listener of listeners) listener(event);
  }
}
