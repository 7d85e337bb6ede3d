/**
 * Redaction: what a client may see of the server's failures, and what the
 * operator's log gets. Pure functions (bar a fresh random trace), so each
 * rule has a table test and needs no socket.
 */

import {
  ConnectionClosedError,
  HandshakeError,
  InternalError,
  ProtocolError,
  PUBLIC_KEY_AUTH_ERROR,
} from "./errors.ts";
import { randomTrace } from "./_bytes.ts";
import { safeLines, safeText } from "./_safe_text.ts";

/** A failure as the client sees it (`wire`) and what the log gets, if anything. */
export interface Redacted {
  wire: ProtocolError;
  log: Error | undefined;
}

/**
 * What the client sees of a handler's error: a {@linkcode ProtocolError} as
 * it is (logged when it carries a trace); a timeout as `request timed out`
 * with a fresh trace (the log keeps the detail under the same trace); anything
 * else as an {@linkcode InternalError}: `internal error` and a trace on the
 * wire, the cause in the log.
 */
export function redactHandlerError(error: unknown): Redacted {
  if (error instanceof ProtocolError) {
    return { wire: error, log: error.trace === "" ? undefined : error };
  }
  if (error instanceof DOMException && error.name === "TimeoutError") {
    const wire = new ProtocolError("request timed out", { trace: randomTrace() });
    const log = new ProtocolError(`${error.message}`, {
      trace: wire.trace,
      timestamp: wire.timestamp,
    });
    return { wire, log };
  }
  const internal = error instanceof InternalError ? error : new InternalError(error);
  return { wire: internal.protocolError(), log: internal };
}

/**
 * The server's own failure (always wrapped anew, with a fresh trace):
 * `internal error` and the trace on the wire, the cause in the log.
 */
export function redactInternal(error: unknown): { wire: ProtocolError; log: InternalError } {
  const internal = new InternalError(error);
  return { wire: internal.protocolError(), log: internal };
}

/**
 * The close reason (with code 4100) for a failed handshake, and what the log
 * gets. A refused key gets Go's `invalid public key`; a failure whose text is
 * safe for the wire (see {@linkcode isWireSafe}), or one on a connection
 * already closed, is quoted; anything else is the server's own failure, whose
 * text goes to the log and never to the wire.
 */
export function handshakeRefusal(
  error: unknown,
  connOpen: boolean,
): { reason: string; log: Error | undefined } {
  if (error instanceof Error && error.name === "PublicKeyRefusedError") {
    return { reason: PUBLIC_KEY_AUTH_ERROR.reason, log: undefined };
  }
  if (connOpen && !isWireSafe(error)) {
    // An authorize callback threw, a bug in an authenticator: internal details.
    const { wire, log } = redactInternal(error);
    return { reason: `handshake failed: ${wire.toString()}`, log };
  }
  const detail = error instanceof Error ? error.message : String(error);
  return { reason: `handshake failed: ${detail}`, log: undefined };
}

/**
 * Whether a handshake failure's text may go in the close reason: a
 * {@linkcode HandshakeError} without a cause (the authenticator's own
 * verdict, which it also sends the client), a timeout or abort, or a closed
 * connection. Anything else may carry internal details.
 */
export function isWireSafe(error: unknown): boolean {
  if (error instanceof HandshakeError) return error.cause === undefined;
  return error instanceof DOMException || error instanceof ConnectionClosedError;
}

/**
 * The default log line's arguments for `console.error`. Peer-supplied text (a
 * user agent, a command, a handler's error about the payload) must not drive
 * the operator's terminal or forge log lines: every part is made safe, and
 * the message stays on one line.
 */
export function logLine(error: Error, sessionId: string, traceparent?: string): [string, unknown] {
  const text = safeText(error instanceof ProtocolError ? error.toString() : error.message);
  const cause = error instanceof InternalError ? error.cause : "";
  // A traceparent is validated (hex and dashes) before it gets here.
  const trace = traceparent === undefined ? "" : ` (traceparent ${traceparent})`;
  return [
    `wsrpc: session ${sessionId}${trace}: ${text}`,
    cause instanceof Error ? safeError(cause) : typeof cause === "string" ? safeText(cause) : cause,
  ];
}

/** An error's name, message (on one line, made safe) and stack frames, for the log. */
export function safeError(error: Error): string {
  const stack = error.stack ?? "";
  const frames = stack.indexOf("\n    at ");
  return safeText(`${error.name}: ${error.message}`) +
    (frames === -1 ? "" : safeLines(stack.slice(frames)));
}
