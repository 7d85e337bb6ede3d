/**
 * The WebSocket-shaped view of one Bun `ServerWebSocket` that the Bun adapter
 * feeds to the runtime-neutral server core.
 *
 * @module
 */

import type { WebSocketLike } from "./_socket.ts";
import { CLOSED, CLOSING, CONNECTING, EventSocket, OPEN } from "./_event_socket.ts";

/**
 * The part of Bun's `ServerWebSocket` that the adapter uses.
 *
 * @typeParam T The type of `ws.data`.
 *
 * @example
 * ```ts
 * import { Server } from "@wsrpc/protocol";
 * import { createHandler, type BunServerWebSocket, type BunSocketData } from "@wsrpc/protocol/bun";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 * import assert from "node:assert/strict";
 *
 * // A stand-in for Bun's socket: the handler serves a session over it.
 * const sent: string[] = [];
 * const ws: BunServerWebSocket<BunSocketData> = {
 *   data: { request: new Request("http://localhost/v1/ws") },
 *   readyState: 1,
 *   send: (frame) => (sent.push(frame), frame.length),
 *   close: () => {},
 * };
 * const server = new Server(demoAPI, { handlers: demoHandlers });
 * const { websocket } = createHandler(server);
 * websocket.open(ws);
 * websocket.message(ws, '{"header":{"command":"demo-echo-request","id":"1"},"payload":"hi"}');
 * while (sent.length < 2) await new Promise((r) => setTimeout(r, 1));
 * assert.match(sent[0]!, /^\{"header":\{"command":"demo-ping-request","id":"0"\}/); // the first ping
 * assert.equal(sent[1], '{"header":{"command":"demo-echo-response","id":"1"},"payload":"hi"}');
 * websocket.close(ws, 1000, "");
 * await server.shutdown();
 * ```
 */
export interface BunServerWebSocket<T = unknown> {
  /** What `server.upgrade(request, { data })` attached. */
  readonly data: T;
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /**
   * Sends one frame. Returns the bytes sent, `-1` when the frame was queued
   * because of backpressure, `0` when it was dropped (the socket is closed).
   */
  send(data: string): number;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Bytes queued and not yet written to the network (Bun 1.2 and later). */
  getBufferedAmount?(): number;
  /** Stops reading from the network (TCP backpressure on the client). */
  pause?(): void;
  /** Reads from the network again after `pause`. */
  resume?(): void;
}

/** A `WebSocket`-shaped view of one Bun `ServerWebSocket`, fed by the server-level callbacks. */
export class BunSocket extends EventSocket implements WebSocketLike {
  readonly #ws: BunServerWebSocket;
  /** Queued under backpressure since the last `drain` (UTF-16 units, about bytes), when Bun lacks `getBufferedAmount`. */
  #queued = 0;

  constructor(ws: BunServerWebSocket) {
    super(CONNECTING);
    this.#ws = ws;
  }

  get bufferedAmount(): number {
    if (this.state === CLOSED) return 0;
    return this.#ws.getBufferedAmount?.() ?? this.#queued;
  }

  send(data: string): void {
    if (this.state !== OPEN) return; // as WebSocket: sends after close are discarded
    // -1: queued under backpressure; 0: dropped, the close callback follows.
    if (this.#ws.send(data) === -1) {
      this.#queued += data.length;
      // Real backpressure: read no more requests until the client has taken
      // what is queued for it (Bun resumes reading on `drain`).
      this.#ws.pause?.();
    }
  }

  close(code?: number, reason?: string): void {
    if (this.state >= CLOSING) return;
    this.state = CLOSING;
    this.#ws.close(code, reason);
  }

  onOpen(): void {
    this.state = OPEN;
    this.emit("open", {});
  }

  onDrain(): void {
    this.#queued = 0;
    if (this.state === OPEN) this.#ws.resume?.();
  }

  onClose(code: number, reason: string): void {
    if (this.state === CLOSED) return;
    this.closed(code, reason);
  }
}
