/**
 * A `WebSocketLike` view of a Workers `WebSocket`, for the server core: fed
 * either by the socket's own events (a plain Worker, after `accept()`) or by
 * a Durable Object's hibernation handlers. Private.
 *
 * @module
 */

import type { WebSocketLike } from "./ws_conn.ts";
import type { CloudflareWebSocket } from "./_cloudflare_types.ts";
import { CloseCode } from "./close_code.ts";
import { CLOSED, CLOSING, EventSocket, OPEN } from "./_event_socket.ts";

/**
 * The core's socket. workerd has no `bufferedAmount`: it reports 0, so the
 * core never waits for room and every send goes straight to workerd, which
 * queues it; each frame is bounded by the message size limits.
 */
export class CloudflareSocket extends EventSocket implements WebSocketLike {
  readonly bufferedAmount = 0;
  readonly ws: CloudflareWebSocket;

  constructor(ws: CloudflareWebSocket) {
    super(OPEN);
    this.ws = ws;
  }

  /** Feeds it from the socket's own events (a socket that was `accept()`ed). */
  static listening(ws: CloudflareWebSocket): CloudflareSocket {
    const socket = new CloudflareSocket(ws);
    ws.addEventListener!("message", (event: MessageEvent) => socket.onMessage(event.data));
    ws.addEventListener!("close", (event: CloseEvent) => socket.onClose(event.code, event.reason));
    ws.addEventListener!("error", () => socket.onClose(CloseCode.AbnormalClosure, ""));
    return socket;
  }

  send(data: string): void {
    if (this.state !== OPEN) return; // as WebSocket: sends after close are discarded
    try {
      this.ws.send(data);
    } catch {
      // workerd throws once the socket has closed underneath: the close event follows.
    }
  }

  close(code?: number, reason?: string): void {
    if (this.state >= CLOSING) return;
    this.state = CLOSING;
    try {
      this.ws.close(code, reason);
    } catch {
      this.onClose(code ?? CloseCode.Normal, reason ?? "");
    }
  }

  onClose(code: number, reason: string): void {
    if (this.state === CLOSED) return;
    const replying = this.state === OPEN;
    this.state = CLOSED;
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
    this.closed(code, reason);
  }
}
