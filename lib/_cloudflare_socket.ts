/**
 * A `WebSocketLike` view of a Workers `WebSocket`, for the server core: fed
 * either by the socket's own events (a plain Worker, after `accept()`) or by
 * a Durable Object's hibernation handlers. Private.
 *
 * @module
 */

import type { WebSocketLike } from "./ws_conn.ts";
import { CloseCode } from "./close_code.ts";

/** The part of a Workers `WebSocket` the adapter uses. */
export interface WorkersWebSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  accept?(): void;
  addEventListener?(type: string, listener: (event: never) => void): void;
  serializeAttachment?(value: unknown): void;
  deserializeAttachment?(): unknown;
}

const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

type Listener = (event: Event) => void;

/**
 * The core's socket. workerd has no `bufferedAmount`: it reports 0, so the
 * core never waits for room and every send goes straight to workerd, which
 * queues it; each frame is bounded by the message size limits.
 */
export class CloudflareSocket implements WebSocketLike {
  binaryType = "arraybuffer";
  readonly bufferedAmount = 0;
  readonly ws: WorkersWebSocket;
  readonly #listeners = new Map<string, Listener[]>();
  #state = OPEN;

  constructor(ws: WorkersWebSocket) {
    this.ws = ws;
  }

  /** Feeds it from the socket's own events (a socket that was `accept()`ed). */
  static listening(ws: WorkersWebSocket): CloudflareSocket {
    const socket = new CloudflareSocket(ws);
    ws.addEventListener!("message", (event: MessageEvent) => socket.onMessage(event.data));
    ws.addEventListener!("close", (event: CloseEvent) => socket.onClose(event.code, event.reason));
    ws.addEventListener!("error", () => socket.onClose(CloseCode.AbnormalClosure, ""));
    return socket;
  }

  get readyState(): number {
    return this.#state;
  }

  send(data: string): void {
    if (this.#state !== OPEN) return; // as WebSocket: sends after close are discarded
    try {
      this.ws.send(data);
    } catch {
      // workerd throws once the socket has closed underneath: the close event follows.
    }
  }

  close(code?: number, reason?: string): void {
    if (this.#state >= CLOSING) return;
    this.#state = CLOSING;
    try {
      this.ws.close(code, reason);
    } catch {
      this.onClose(code ?? CloseCode.Normal, reason ?? "");
    }
  }

  addEventListener(type: string, listener: Listener): void {
    const list = this.#listeners.get(type);
    if (list === undefined) this.#listeners.set(type, [listener]);
    else list.push(listener);
  }

  onMessage(data: string | ArrayBuffer): void {
    if (this.#state === CLOSED) return;
    this.#emit("message", { data });
  }

  onClose(code: number, reason: string): void {
    if (this.#state === CLOSED) return;
    const replying = this.#state === OPEN;
    this.#state = CLOSED;
    if (replying) {
      // Complete the closing handshake (workerd does it itself on recent
      // compatibility dates; a second close is then refused, harmlessly).
      try {
        this.ws.close(
          code === CloseCode.NoStatusReceived || code === CloseCode.AbnormalClosure
            ? CloseCode.Normal
            : code,
          reason,
        );
      } catch { /* already closed */ }
    }
    this.#emit("close", { code, reason, wasClean: code !== CloseCode.AbnormalClosure });
  }

  #emit(type: string, fields: Record<string, unknown>): void {
    const listeners = this.#listeners.get(type);
    if (listeners === undefined) return;
    const event = { type, ...fields } as unknown as Event;
    for (const listener of listeners) listener(event);
  }
}
