/**
 * The WebSocket close codes wsrpc sends or reports, by name (RFC 6455 §7.4.1
 * for 1000-1011; 4100 is Hemi's `StatusHandshakeErr`). docs/close-codes.md
 * says when each is sent and by which side.
 *
 * @module
 */

/**
 * The close codes wsrpc uses, each with the situation it names.
 *
 * @example Naming the code a peer closed with
 * ```ts
 * import { CloseCode, ConnectionClosedError } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const error = new ConnectionClosedError(CloseCode.MessageTooBig, "read limited at 524288 bytes");
 * assert.equal(error.code, 1009);
 * assert.equal(CloseCode.HandshakeError, 4100);
 * ```
 */
export const CloseCode: Readonly<{
  /** 1000: closed by the user. */
  Normal: 1000;
  /** 1001: the server is shutting down, or the keepalive timed out. */
  GoingAway: 1001;
  /** 1003: a binary frame arrived; the protocol is text only. */
  UnsupportedData: 1003;
  /** 1005: the close frame carried no code (reported, never sent). */
  NoStatusReceived: 1005;
  /** 1006: the connection dropped without a close frame (reported, never sent). */
  AbnormalClosure: 1006;
  /** 1007: a frame was not valid JSON. */
  InvalidPayload: 1007;
  /** 1008: an invalid command or header, or a limit of the peer's making (flood, slow reader, idle). */
  PolicyViolation: 1008;
  /** 1009: a message over the read limit, or nested too deeply. */
  MessageTooBig: 1009;
  /** 1011: the server failed. */
  InternalError: 1011;
  /** 4100: the handshake failed or the key was refused. */
  HandshakeError: 4100;
}> = Object.freeze({
  Normal: 1000,
  GoingAway: 1001,
  UnsupportedData: 1003,
  NoStatusReceived: 1005,
  AbnormalClosure: 1006,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  InternalError: 1011,
  HandshakeError: 4100,
});
