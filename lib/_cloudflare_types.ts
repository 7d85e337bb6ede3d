/**
 * The Workers `WebSocket` as the Cloudflare adapter sees it (a local type:
 * no dependency on `@cloudflare/workers-types`).
 *
 * @module
 */

/**
 * The part of a Workers `WebSocket` the adapter uses.
 *
 * @example A stand-in socket
 * ```ts
 * import type { CloudflareWebSocket } from "@wsrpc/protocol/cloudflare";
 * import assert from "node:assert/strict";
 *
 * const sent: string[] = [];
 * const ws: CloudflareWebSocket = { readyState: 1, send: (text) => void sent.push(text), close: () => {} };
 * ws.send("hi");
 * assert.deepEqual(sent, ["hi"]);
 * ```
 */
export interface CloudflareWebSocket {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Sends one text frame. */
  send(data: string): void;
  /** Starts (or answers) the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Starts delivering events to listeners (a plain Worker's socket). */
  accept?(): void;
  /** Listens for `message`, `close` and `error` (a plain Worker's socket). */
  addEventListener?(type: string, listener: (event: never) => void): void;
  /** Keeps a value with a hibernatable socket. */
  serializeAttachment?(value: unknown): void;
  /** The value kept with `serializeAttachment`. */
  deserializeAttachment?(): unknown;
}
