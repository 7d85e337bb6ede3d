/**
 * The protocol's error model: wire errors, request errors, internal errors,
 * handshake and invalid-command errors, and the close codes that go with them.
 *
 * @module
 */

import { CloseCode } from "./close_code.ts";
import { formatf } from "./_format.ts";
import { randomTrace } from "./_bytes.ts";

export { CloseCode };

/**
 * The protocol's wire error, `{"timestamp", "trace"?, "message"}`, carried in a
 * response payload under `error`. Its `toString()` is the Go `Error.String()`:
 * `message` alone without a trace, else `message [trace:timestamp]`.
 *
 * @example Wire shape and text form
 * ```ts
 * import { ProtocolError } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const err = new ProtocolError("not found: block 00ab", { timestamp: 1732453000 });
 * assert.equal(JSON.stringify(err), '{"timestamp":1732453000,"message":"not found: block 00ab"}');
 * assert.equal(String(err), "not found: block 00ab");
 * ```
 */
export class ProtocolError extends Error {
  /** When the error was made, unix seconds. */
  readonly timestamp: number;
  /** 16 lowercase hex characters that also appear in the server's log, or `""`. */
  readonly trace: string;

  /**
   * Makes a wire error.
   *
   * @param message The text the peer sees.
   * @param options `timestamp` (default: now) and `trace` (default: none).
   */
  constructor(
    message: string,
    options: { timestamp?: number; trace?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = "ProtocolError";
    this.timestamp = options.timestamp ?? unixSeconds();
    this.trace = options.trace ?? "";
  }

  /**
   * The wire shape; `trace` is omitted when empty (Go `omitempty`).
   *
   * @returns `{timestamp, trace?, message}`.
   */
  toJSON(): { timestamp: number; trace?: string; message: string } {
    return this.trace === ""
      ? { timestamp: this.timestamp, message: this.message }
      : { timestamp: this.timestamp, trace: this.trace, message: this.message };
  }

  /**
   * The Go text form.
   *
   * @returns `message`, or `message [trace:timestamp]` when there is a trace.
   */
  override toString(): string {
    return this.trace === "" ? this.message : `${this.message} [${this.trace}:${this.timestamp}]`;
  }

  /**
   * Reads a wire error.
   *
   * @param value A decoded `error` object.
   * @returns The error, or `undefined` when `value` is not a wire error.
   *
   * @example
   * ```ts
   * import { ProtocolError } from "@wsrpc/protocol";
   * import assert from "node:assert/strict";
   *
   * const err = ProtocolError.fromJSON({ timestamp: 1, trace: "00ff00ff00ff00ff", message: "boom" });
   * assert.equal(String(err), "boom [00ff00ff00ff00ff:1]");
   * assert.equal(ProtocolError.fromJSON({ message: 3 }), undefined);
   * ```
   */
  static fromJSON(value: unknown): ProtocolError | undefined {
    if (value === null || typeof value !== "object") return undefined;
    const { timestamp, trace, message } = value as Record<string, unknown>;
    if (typeof message !== "string") return undefined;
    if (trace !== undefined && typeof trace !== "string") return undefined;
    const ts = typeof timestamp === "number"
      ? timestamp
      : typeof timestamp === "bigint"
      ? Number(timestamp)
      : 0;
    return new ProtocolError(message, { timestamp: ts, trace: trace ?? "" });
  }
}

/**
 * Makes a {@linkcode ProtocolError} with a fresh random trace, like Go's
 * `Errorf`. Log it on the server with its trace so an operator can find it.
 * The format understands `%v`, `%s`, `%d`, `%x`, `%q` and `%%`.
 *
 * @param format The message, with verbs.
 * @param args Values for the verbs.
 * @returns A traced error.
 *
 * @example
 * ```ts
 * import { errorf } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const err = errorf("block %d not indexed", 42);
 * assert.equal(err.message, "block 42 not indexed");
 * assert.match(err.trace, /^[0-9a-f]{16}$/);
 * ```
 */
export function errorf(format: string, ...args: unknown[]): ProtocolError {
  return new ProtocolError(formatf(format, args), { trace: newTrace() });
}

/**
 * Makes a request error: the client's fault, sent without a trace and not
 * logged (Go `RequestError`).
 *
 * @param cause An error (its message is used) or a message.
 * @returns An untraced error.
 *
 * @example
 * ```ts
 * import { requestError } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.equal(requestError(new Error("bad height")).toString(), "bad height");
 * ```
 */
export function requestError(cause: Error | string): ProtocolError {
  const message = typeof cause === "string" ? cause : cause.message;
  return new ProtocolError(message);
}

/**
 * Makes a request error from a format (Go `RequestErrorf`).
 *
 * @param format The message, with verbs as in {@linkcode errorf}.
 * @param args Values for the verbs.
 * @returns An untraced error.
 *
 * @example
 * ```ts
 * import { requestErrorf } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const err = requestErrorf("invalid height %v", -1);
 * assert.equal(err.message, "invalid height -1");
 * assert.equal(err.trace, "");
 * ```
 */
export function requestErrorf(format: string, ...args: unknown[]): ProtocolError {
  return new ProtocolError(formatf(format, args));
}

/**
 * Makes the request error `not found: <resource> <value>` (Go `NotFoundError`).
 *
 * @param resource What was looked for.
 * @param value Which one.
 * @returns An untraced error.
 *
 * @example
 * ```ts
 * import { notFoundError } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.equal(notFoundError("block", "00ab").message, "not found: block 00ab");
 * ```
 */
export function notFoundError(resource: string, value: unknown): ProtocolError {
  return new ProtocolError(`not found: ${resource} ${formatf("%v", [value])}`);
}

/**
 * An error whose details stay on the server. The client only ever sees
 * {@linkcode InternalError.protocolError}: `internal error` with a trace; the
 * server logs `cause` with the same trace.
 *
 * @example
 * ```ts
 * import { InternalError } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const err = new InternalError(new Error("database password rejected"));
 * assert.equal(err.protocolError().message, "internal error");
 * assert.ok(!JSON.stringify(err.protocolError()).includes("password"));
 * assert.match(err.message, /password/);
 * ```
 */
export class InternalError extends Error {
  readonly #wire: ProtocolError;

  /**
   * Wraps a cause.
   *
   * @param cause The real error, for the server's log only.
   */
  constructor(cause: unknown) {
    const wire = new ProtocolError("internal error", { trace: newTrace() });
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`internal error: ${detail} [trace ${wire.trace}]`, { cause });
    this.name = "InternalError";
    this.#wire = wire;
  }

  /**
   * What the client may see.
   *
   * @returns `internal error`, with this error's trace and timestamp.
   */
  protocolError(): ProtocolError {
    return this.#wire;
  }
}

/**
 * The authenticator's handshake failed. On the client its message reads
 * `failed to handshake with server: <cause>`.
 *
 * @example
 * ```ts
 * import { HandshakeError } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const err = new HandshakeError("invalid signature");
 * assert.equal(err.name, "HandshakeError");
 * assert.equal(err.message, "invalid signature");
 * ```
 */
export class HandshakeError extends Error {
  /**
   * Makes a handshake error.
   *
   * @param message What went wrong.
   * @param options `cause`, when another error is behind it.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HandshakeError";
  }
}

/**
 * A message named a command the API does not know, had no valid header, or
 * its payload failed the command's schema (Go `ErrInvalidCommand`).
 *
 * @example
 * ```ts
 * import { InvalidCommandError } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const err = new InvalidCommandError('unknown command "x-request"', { command: "x-request" });
 * assert.equal(err.message, 'invalid command: unknown command "x-request"');
 * assert.equal(err.command, "x-request");
 * ```
 */
export class InvalidCommandError extends Error {
  /** The command, when the message had one. */
  readonly command: string | undefined;
  /** The request id, when the message had one. */
  readonly id: string | undefined;

  /**
   * Makes an invalid-command error.
   *
   * @param detail What was wrong.
   * @param options The message's `command` and `id` when known, and a `cause`.
   */
  constructor(
    detail: string,
    options: { command?: string; id?: string; cause?: unknown } = {},
  ) {
    super(
      `invalid command: ${detail}`,
      options.cause === undefined ? {} : { cause: options.cause },
    );
    this.name = "InvalidCommandError";
    this.command = options.command;
    this.id = options.id;
  }
}

/**
 * The WebSocket closed, so the operation could not finish. Carries the close
 * status (RFC 6455 §7.4). Every call pending on a connection that closes
 * rejects with this error.
 *
 * @example
 * ```ts
 * import { ConnectionClosedError } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const err = new ConnectionClosedError(4100, "invalid public key");
 * assert.equal(err.message, 'Connection closed: 4100 "invalid public key"');
 * assert.equal(err.code, 4100);
 * ```
 */
export class ConnectionClosedError extends Error {
  /** The close code; 1006 when the connection dropped without a close frame. */
  readonly code: number;
  /** The close reason, possibly empty. */
  readonly reason: string;

  /**
   * Makes a closed-connection error.
   *
   * @param code The close code.
   * @param reason The close reason.
   * @param options A `cause`, and a `message` that replaces the default
   * `Connection closed: <code> "<reason>"`.
   */
  constructor(
    code: number,
    reason: string,
    options: { cause?: unknown; message?: string } = {},
  ) {
    super(
      options.message ?? `Connection closed: ${code} ${JSON.stringify(reason)}`,
      options.cause === undefined ? {} : { cause: options.cause },
    );
    this.name = "ConnectionClosedError";
    this.code = code;
    this.reason = reason;
  }
}

/**
 * Close code a server uses when it refuses an authenticated key, or the
 * handshake fails (Go `StatusHandshakeErr`).
 *
 * @example The code is CloseCode.HandshakeError
 * ```ts
 * import { STATUS_HANDSHAKE_ERR } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(STATUS_HANDSHAKE_ERR, 4100);
 * ```
 */
export const STATUS_HANDSHAKE_ERR: 4100 = CloseCode.HandshakeError;

/**
 * The close status for a refused public key (Go `PublicKeyAuthError`).
 *
 * @example The code and reason a refused key gets
 * ```ts
 * import { PUBLIC_KEY_AUTH_ERROR } from "@wsrpc/protocol/ed25519";
 * import assert from "node:assert/strict";
 * assert.deepEqual(PUBLIC_KEY_AUTH_ERROR, { code: 4100, reason: "invalid public key" });
 * ```
 */
export const PUBLIC_KEY_AUTH_ERROR: Readonly<{ code: number; reason: string }> = Object.freeze({
  code: STATUS_HANDSHAKE_ERR,
  reason: "invalid public key",
});

/** Eight random bytes as 16 lowercase hex characters. */
function newTrace(): string {
  return randomTrace();
}

function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
