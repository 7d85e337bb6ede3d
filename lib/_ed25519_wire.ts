/**
 * The ed25519 handshake's messages and their validation, shared by its client
 * and server halves: command names, signing domains, size limits, reading and
 * writing one handshake message, field decoding and the `ed25519-error`
 * report. The frames are described in docs/wire-format.md. Private.
 *
 * @module
 */

import { HandshakeError, ProtocolError } from "./errors.ts";
import { messageOf } from "./framing.ts";
import type { APIConn } from "./message.ts";
import { fromHex } from "./_bytes.ts";
import { UNSAFE_TEXT } from "./_safe_text.ts";

/** Commands of the handshake. */
export const HELLO = "ed25519-hello";
export const CHALLENGE = "ed25519-hello-challenge";
export const ACCEPTED = "ed25519-hello-challenge-accepted";
export const COMPLETE = "ed25519-hello-complete";
export const ERROR = "ed25519-error";

export const encoder = new TextEncoder();
export const SERVER_DOMAIN = encoder.encode("wsrpc-ed25519-v1 server\n");
export const CLIENT_DOMAIN = encoder.encode("wsrpc-ed25519-v1 client\n");

export const NONCE_LENGTH = 16;
export const KEY_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;
/** Longest `userAgent` a server accepts, in UTF-16 code units. */
export const MAX_USER_AGENT = 256;
/** Longest server message, in UTF-16 code units. */
export const MAX_SERVER_MESSAGE = 256;
/** Longest challenge a client accepts: random bytes, framing text, key hex, message. */
export const MAX_CHALLENGE = NONCE_LENGTH + "Hello: \nMessage: \n".length + 2 * KEY_LENGTH +
  3 * MAX_SERVER_MESSAGE;
/** Longest peer error text quoted in a local error. */
const MAX_QUOTED = 256;
/**
 * Kept out of user agents and challenge text: control characters (C0, DEL,
 * C1), bidi controls, line separators and lone surrogates, which could spoof
 * a log line or a terminal (see `_safe_text.ts`).
 */
export const CHALLENGE_TEXT = new RegExp(
  `^Hello: ([0-9a-f]{64})\\nMessage: ([^${UNSAFE_TEXT.source.slice(1, -1)}]*)\\n$`,
  "u",
);
const LOWER_HEX = /^(?:[0-9a-f]{2})*$/;

/** Errors not to report to the peer: the peer's own reports, and failures already reported. */
const unreported = new WeakSet<Error>();

export function quiet<E extends Error>(error: E): E {
  unreported.add(error);
  return error;
}

/** Sends `ed25519-error` for a local handshake failure; aborts and connection errors are not reported. */
export async function reportFailure(
  conn: APIConn,
  signal: AbortSignal,
  error: unknown,
): Promise<void> {
  if (!(error instanceof HandshakeError) || unreported.has(error)) return;
  await sendError(conn, signal, new ProtocolError(error.message));
}

export async function sendError(
  conn: APIConn,
  signal: AbortSignal,
  error: ProtocolError,
): Promise<void> {
  if (signal.aborted) return;
  try {
    await write(conn, signal, ERROR, { error: error.toJSON() });
  } catch {
    // Best effort: the connection is about to close anyway.
  }
}

/** Writes one handshake message; throws the abort reason if `signal` aborted meanwhile. */
export async function write(
  conn: APIConn,
  signal: AbortSignal,
  command: string,
  payload: unknown,
): Promise<void> {
  signal.throwIfAborted();
  await conn.writeJSON(messageOf(command, "", payload), signal);
  signal.throwIfAborted();
}

/** Reads the next message; it must be `expected` (or the peer's `ed25519-error`) with an object payload. */
export async function readPayload(
  conn: APIConn,
  signal: AbortSignal,
  expected: string,
  peer: "client" | "server",
): Promise<Record<string, unknown>> {
  const value = await conn.readJSON(signal);
  signal.throwIfAborted();
  if (!isObject(value) || !isObject(value.header) || typeof value.header.command !== "string") {
    throw new HandshakeError(`invalid message: expected "${expected}", got no command`);
  }
  const command = value.header.command;
  const payload = value.payload;
  if (command === ERROR) {
    const reported = isObject(payload) ? ProtocolError.fromJSON(payload.error) : undefined;
    const text = reported === undefined ? "no reason given" : quote(reported.toString());
    throw quiet(new HandshakeError(`${peer} refused: ${text}`));
  }
  if (command !== expected) {
    throw new HandshakeError(
      `unexpected message ${quote(JSON.stringify(command))}, expected "${expected}"`,
    );
  }
  if (!isObject(payload)) {
    throw new HandshakeError(`invalid ${expected}: payload is ${kind(payload)}, not an object`);
  }
  return payload;
}

/** A lowercase-hex field, decoded: of exactly `length` bytes, or at most `max`. */
export function hexField(
  payload: Record<string, unknown>,
  field: string,
  what: string,
  size: { length: number } | { max: number },
): Uint8Array {
  const value = payload[field];
  if (typeof value !== "string") {
    throw new HandshakeError(`invalid ${what}: field "${field}" is ${kind(value)}, not a string`);
  }
  if ("length" in size && value.length !== 2 * size.length) {
    throw new HandshakeError(
      `invalid ${what}: field "${field}" must be ${size.length} bytes (${
        2 * size.length
      } hex characters), got ${value.length} characters`,
    );
  }
  if ("max" in size && value.length > 2 * size.max) {
    throw new HandshakeError(
      `invalid ${what}: field "${field}" is over ${size.max} bytes (${
        2 * size.max
      } hex characters), got ${value.length} characters`,
    );
  }
  if (!LOWER_HEX.test(value)) {
    throw new HandshakeError(`invalid ${what}: field "${field}" is not lowercase hex`);
  }
  return fromHex(value);
}

export function checkText(value: unknown, name: string, max: number): asserts value is string {
  if (typeof value !== "string") {
    throw new TypeError(`Invalid ${name}: expected a string, got ${kind(value)}`);
  }
  if (value.length > max) {
    throw new RangeError(`Invalid ${name}: ${value.length} characters, over ${max}`);
  }
  const unsafe = unsafeCharacter(value);
  if (unsafe !== undefined) throw new RangeError(`Invalid ${name}: it holds ${unsafe}`);
}

export function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  do crypto.getRandomValues(bytes); while (isZero(bytes));
  return bytes;
}

export function isZero(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0);
}

const fatalDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function utf8(bytes: Uint8Array): string | undefined {
  try {
    return fatalDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export function kind(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "missing";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

/** First 8 hex characters, for error messages. */
export function short(hex: string): string {
  return `${hex.slice(0, 8)}…`;
}

/** What makes `text` unsafe to log (its first such character), or undefined. */
export function unsafeCharacter(text: string): string | undefined {
  const char = UNSAFE_TEXT.exec(text)?.[0];
  if (char === undefined) return undefined;
  if (/\p{Cc}/u.test(char)) return "a control character";
  const code = `U+${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
  return /\p{Cs}/u.test(char)
    ? `a lone surrogate (${code})`
    : `a bidi or line-separator character (${code})`;
}

const UNSAFE_GLOBAL = new RegExp(UNSAFE_TEXT.source, "gu");

/** Peer-supplied text made safe for logs: unsafe characters replaced, length capped. */
function quote(text: string): string {
  const clean = text.replace(UNSAFE_GLOBAL, "\uFFFD");
  return clean.length > MAX_QUOTED ? `${clean.slice(0, MAX_QUOTED)}…` : clean;
}
