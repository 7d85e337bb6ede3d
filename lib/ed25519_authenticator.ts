/**
 * The ed25519 handshake: a challenge-response {@linkcode Authenticator} in
 * which the client proves its key, and a server with a key of its own proves
 * that key too. Every signature is domain-separated and bound to the peer's
 * key and to fresh randomness, so it cannot be replayed or relayed.
 *
 * The exchange, one JSON message per frame (hex is lowercase):
 *
 * 1. client → `ed25519-hello`
 *    `{"userAgent", "publickey": <32 bytes>, "nonce": <16 random bytes>}`
 * 2. server → `ed25519-hello-challenge`
 *    `{"message": <challenge>, "publickey"?: <32 bytes>, "signature"?: <64 bytes>}`;
 *    challenge = 16 random bytes || UTF-8 `Hello: <client key hex>\nMessage: <text>\n`;
 *    the server signs `"wsrpc-ed25519-v1 server\n" || nonce || challenge`.
 * 3. client → `ed25519-hello-challenge-accepted` `{"signature": <64 bytes>}`
 *    over `"wsrpc-ed25519-v1 client\n" || challenge || server key (if sent)`.
 * 4. server → `ed25519-hello-complete` `{}`: verified and authorized.
 *
 * Either side may instead send `ed25519-error` `{"error": {"timestamp", "message"}}`
 * and give up.
 *
 * @module
 */

import { abortable } from "./_deadline.ts";
import { HandshakeError, InternalError, ProtocolError } from "./errors.ts";
import { messageOf } from "./framing.ts";
import type { APIConn, Authenticator, PeerIdentity } from "./message.ts";
import {
  decodeKey,
  type Ed25519Backend,
  Ed25519Signer,
  isValidPublicKey,
  verify,
} from "./ed25519_keys.ts";
import { concat, fromHex, toHex } from "./_bytes.ts";
import { UNSAFE_TEXT } from "./_safe_text.ts";

/** Commands of the handshake. */
const HELLO = "ed25519-hello";
const CHALLENGE = "ed25519-hello-challenge";
const ACCEPTED = "ed25519-hello-challenge-accepted";
const COMPLETE = "ed25519-hello-complete";
const ERROR = "ed25519-error";

const encoder = new TextEncoder();
const SERVER_DOMAIN = encoder.encode("wsrpc-ed25519-v1 server\n");
const CLIENT_DOMAIN = encoder.encode("wsrpc-ed25519-v1 client\n");

const NONCE_LENGTH = 16;
const KEY_LENGTH = 32;
const SIGNATURE_LENGTH = 64;
/** Longest `userAgent` a server accepts, in UTF-16 code units. */
const MAX_USER_AGENT = 256;
/** Longest server message, in UTF-16 code units. */
const MAX_SERVER_MESSAGE = 256;
/** Longest challenge a client accepts: random bytes, framing text, key hex, message. */
const MAX_CHALLENGE = NONCE_LENGTH + "Hello: \nMessage: \n".length + 2 * KEY_LENGTH +
  3 * MAX_SERVER_MESSAGE;
/** Longest peer error text quoted in a local error. */
const MAX_QUOTED = 256;
/**
 * Kept out of user agents and challenge text: control characters (C0, DEL,
 * C1), bidi controls, line separators and lone surrogates, which could spoof
 * a log line or a terminal (see `_safe_text.ts`).
 */
const CHALLENGE_TEXT = new RegExp(
  `^Hello: ([0-9a-f]{64})\\nMessage: ([^${UNSAFE_TEXT.source.slice(1, -1)}]*)\\n$`,
  "u",
);
const LOWER_HEX = /^(?:[0-9a-f]{2})*$/;

/**
 * Options of {@linkcode ed25519Client}.
 *
 * @example
 * ```ts
 * import { ed25519Client, type Ed25519ClientOptions } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const options: Ed25519ClientOptions = { secretKey: "11".repeat(32), userAgent: "cli/1.0" };
 * const auth = ed25519Client(options);
 * await assert.rejects(auth.handshakeServer({} as never, AbortSignal.timeout(1000)), TypeError); // client only
 * assert.throws(() => ed25519Client({ ...options, userAgent: "cli\n1.0" }), RangeError);
 * ```
 */
export interface Ed25519ClientOptions {
  /** The client's 32-byte secret key (seed), as bytes or hex. */
  secretKey: Uint8Array | string;
  /**
   * What the client says it is; at most 256 characters, no control, bidi or
   * line-separator characters (they could spoof the server's log).
   *
   * @default {"wsrpc"}
   */
  userAgent?: string;
  /**
   * The server key to expect. When set, a server that does not prove this key
   * fails the handshake. Without it the client still checks the signature of
   * any key the server sends, but cannot tell the real server from a relay.
   *
   * @default {undefined}
   */
  serverPublicKey?: Uint8Array | string;
  /**
   * The signing implementation.
   *
   * @default {"auto"}
   */
  backend?: Ed25519Backend;
}

/**
 * Options of {@linkcode ed25519Server}. Without `allow` or `authorize`, any
 * client that proves possession of a key is accepted.
 *
 * @example A server that proves its key and admits only its own tools
 * ```ts
 * import { ed25519Client, ed25519Server, generateKeyPair } from "@wsrpc/protocol";
 * import type { APIConn, Ed25519ServerOptions } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * // Two in-memory connections joined back to back.
 * const link = (inbox: unknown[], outbox: unknown[]): APIConn => ({
 *   async readJSON() {
 *     while (inbox.length === 0) await new Promise((r) => setTimeout(r, 1));
 *     return inbox.shift();
 *   },
 *   writeJSON: (value) => { outbox.push(value); return Promise.resolve(); },
 * });
 * const serverKeys = await generateKeyPair();
 * const options: Ed25519ServerOptions = {
 *   secretKey: serverKeys.secretKey,
 *   message: "tbcd",
 *   authorize: (peer) => peer.userAgent.startsWith("tbc-cli/"),
 * };
 * const handshake = async (userAgent: string) => {
 *   const { secretKey } = await generateKeyPair();
 *   const toServer: unknown[] = [], toClient: unknown[] = [], signal = AbortSignal.timeout(5000);
 *   const client = ed25519Client({ secretKey, userAgent, serverPublicKey: serverKeys.publicKey });
 *   return (await Promise.allSettled([
 *     client.handshakeClient(link(toClient, toServer), signal),
 *     ed25519Server(options).handshakeServer(link(toServer, toClient), signal),
 *   ])).map((result) => result.status === "fulfilled" ? "ok" : result.reason.name);
 * };
 * assert.deepEqual(await handshake("tbc-cli/1.0"), ["ok", "ok"]); // and the client checked the server's key
 * // Refused by authorize: the server fails with PublicKeyRefusedError, the client with HandshakeError.
 * assert.deepEqual(await handshake("curious-bot"), ["HandshakeError", "PublicKeyRefusedError"]);
 * ```
 */
export interface Ed25519ServerOptions {
  /**
   * The server's own 32-byte secret key (seed), as bytes or hex. With it the
   * server signs each challenge, so clients can authenticate the server.
   *
   * @default {undefined}
   */
  secretKey?: Uint8Array | string;
  /**
   * The text in each challenge's `Message:` line: at most 256 characters,
   * no control, bidi or line-separator characters (in particular no newline).
   *
   * @default {""}
   */
  message?: string;
  /**
   * The client public keys (hex or bytes) that may connect. Checked after the
   * client's signature, so it reveals nothing to a client without the key.
   *
   * @default {undefined} (every key)
   */
  allow?: Iterable<Uint8Array | string>;
  /**
   * Decides whether a client that proved its key may connect; runs after
   * `allow`. A refusal fails the handshake with
   * {@linkcode PublicKeyRefusedError}; a throw fails it with a
   * {@linkcode HandshakeError} whose `cause` is the thrown error, and the
   * client sees only `internal error` with a trace.
   *
   * @default {undefined} (every key)
   */
  authorize?: (peer: PeerIdentity) => boolean | Promise<boolean>;
  /**
   * The signing implementation.
   *
   * @default {"auto"}
   */
  backend?: Ed25519Backend;
}

/**
 * The server refused a client key that proved itself: it is not in the
 * allow-list, or the `authorize` callback said no. A server closes the
 * connection with {@linkcode PUBLIC_KEY_AUTH_ERROR} (4100
 * `invalid public key`) when the handshake fails with this error.
 *
 * @example
 * ```ts
 * import { HandshakeError, PublicKeyRefusedError } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const err = new PublicKeyRefusedError("ab".repeat(32));
 * assert.ok(err instanceof HandshakeError);
 * assert.equal(err.name, "PublicKeyRefusedError");
 * assert.equal(err.message, "invalid public key");
 * ```
 */
export class PublicKeyRefusedError extends HandshakeError {
  /** The refused key, lowercase hex. */
  readonly publicKey: string;

  /**
   * Makes the error.
   *
   * @param publicKey The refused key, lowercase hex.
   * @param options `cause`, when another error is behind it.
   */
  constructor(publicKey: string, options?: ErrorOptions) {
    super("invalid public key", options);
    this.name = "PublicKeyRefusedError";
    this.publicKey = publicKey;
  }
}

/**
 * Makes the client side of the ed25519 handshake. The returned authenticator
 * may serve any number of connections, concurrently; the key is imported once.
 *
 * The client rejects with a {@linkcode HandshakeError} when the server
 * refuses (`server refused: invalid public key`), sends a challenge that is
 * malformed or names another client's key, proves the wrong key
 * (`server key mismatch: expected …, got …`), or signs badly
 * (`invalid server signature`); with `signal.reason` when `signal` aborts;
 * and with the connection's error when the connection fails.
 *
 * @param options The client's key, user agent, and the server key to pin.
 * @returns An authenticator whose `handshakeClient` runs the handshake.
 * Its `handshakeServer` rejects with a `TypeError`.
 * @throws {TypeError} When a key is neither hex nor bytes, or `userAgent` is not a string.
 * @throws {SyntaxError} When a key string is not hex.
 * @throws {RangeError} When a key is not 32 bytes, or `userAgent` is too long
 * or holds a control character.
 *
 * @example A handshake over an in-memory connection pair
 * ```ts
 * import { ed25519Client, ed25519Server, encodeHex, generateKeyPair, type APIConn } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const link = (inbox: unknown[], outbox: unknown[]): APIConn => ({
 *   async readJSON() {
 *     while (inbox.length === 0) await new Promise((r) => setTimeout(r, 1));
 *     return inbox.shift();
 *   },
 *   writeJSON: (value) => { outbox.push(value); return Promise.resolve(); },
 * });
 * const toServer: unknown[] = [], toClient: unknown[] = [];
 * const client = await generateKeyPair();
 * const server = await generateKeyPair();
 * const signal = AbortSignal.timeout(5000);
 * const [, peer] = await Promise.all([
 *   ed25519Client({ secretKey: client.secretKey, serverPublicKey: server.publicKey })
 *     .handshakeClient(link(toClient, toServer), signal),
 *   ed25519Server({ secretKey: server.secretKey }).handshakeServer(link(toServer, toClient), signal),
 * ]);
 * assert.equal(peer.publicKey, encodeHex(client.publicKey));
 * ```
 */
export function ed25519Client(options: Ed25519ClientOptions): Authenticator {
  const secretKey = decodeKey(options.secretKey);
  const userAgent = options.userAgent ?? "wsrpc";
  checkText(userAgent, "userAgent", MAX_USER_AGENT);
  const pinned = options.serverPublicKey === undefined
    ? undefined
    : toHex(decodeKey(options.serverPublicKey));
  const backend = options.backend ?? "auto";
  let signer: Promise<Ed25519Signer> | undefined;
  const getSigner = (): Promise<Ed25519Signer> => {
    if (signer === undefined) {
      signer = Ed25519Signer.create(secretKey, { backend });
      signer.catch(() => (signer = undefined));
    }
    return signer;
  };
  return {
    handshakeClient: (conn, signal) =>
      runClient(conn, signal, { getSigner, userAgent, pinned, backend }),
    handshakeServer: () =>
      Promise.reject(
        new TypeError("Cannot run the server side with ed25519Client(): use ed25519Server()"),
      ),
  };
}

/**
 * Makes the server side of the ed25519 handshake. The returned authenticator
 * may serve any number of connections, concurrently.
 *
 * `handshakeServer` resolves with the client's {@linkcode PeerIdentity}
 * (`publicKey` as lowercase hex, `userAgent`) once the client has proved its
 * key and been authorized. On failure it first sends `ed25519-error` (best
 * effort), then rejects with a {@linkcode HandshakeError} (a
 * {@linkcode PublicKeyRefusedError} for a refused key), with `signal.reason`
 * when `signal` aborts, or with the connection's error. The caller closes the
 * connection with 4100.
 *
 * @param options The server's key and challenge text, and who may connect.
 * @returns An authenticator whose `handshakeServer` runs the handshake.
 * Its `handshakeClient` rejects with a `TypeError`.
 * @throws {TypeError} When a key is neither hex nor bytes, `message` is not a
 * string, `allow` is not iterable or `authorize` not a function.
 * @throws {SyntaxError} When a key string is not hex.
 * @throws {RangeError} When a key is not 32 bytes, or `message` is too long or
 * holds a control character.
 *
 * @example An allow-list
 * ```ts
 * import { ed25519Client, ed25519Server, encodeHex, generateKeyPair, PublicKeyRefusedError } from "@wsrpc/protocol";
 * import type { APIConn, PeerIdentity } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * // Two in-memory connections joined back to back.
 * const link = (inbox: unknown[], outbox: unknown[]): APIConn => ({
 *   async readJSON() {
 *     while (inbox.length === 0) await new Promise((r) => setTimeout(r, 1));
 *     return inbox.shift();
 *   },
 *   writeJSON: (value) => { outbox.push(value); return Promise.resolve(); },
 * });
 * const [alice, mallory] = [await generateKeyPair(), await generateKeyPair()];
 * const server = ed25519Server({ message: "example", allow: [encodeHex(alice.publicKey)] });
 * const admit = async (secretKey: Uint8Array): Promise<PeerIdentity> => {
 *   const toServer: unknown[] = [], toClient: unknown[] = [], signal = AbortSignal.timeout(5000);
 *   const [, verdict] = await Promise.allSettled([
 *     ed25519Client({ secretKey }).handshakeClient(link(toClient, toServer), signal),
 *     server.handshakeServer(link(toServer, toClient), signal),
 *   ]);
 *   if (verdict.status === "rejected") throw verdict.reason;
 *   return verdict.value;
 * };
 * assert.equal((await admit(alice.secretKey)).publicKey, encodeHex(alice.publicKey));
 * await assert.rejects(admit(mallory.secretKey), PublicKeyRefusedError);
 * ```
 */
export function ed25519Server(options: Ed25519ServerOptions = {}): Authenticator {
  const secretKey = options.secretKey === undefined ? undefined : decodeKey(options.secretKey);
  const message = options.message ?? "";
  checkText(message, "message", MAX_SERVER_MESSAGE);
  let allow: Set<string> | undefined;
  if (options.allow !== undefined) {
    if (typeof (options.allow as Iterable<unknown>)[Symbol.iterator] !== "function") {
      throw new TypeError("Invalid allow: expected an iterable of keys");
    }
    allow = new Set(Array.from(options.allow, (key) => toHex(decodeKey(key))));
  }
  const authorize = options.authorize;
  if (authorize !== undefined && typeof authorize !== "function") {
    throw new TypeError("Invalid authorize: expected a function");
  }
  const backend = options.backend ?? "auto";
  let signer: Promise<Ed25519Signer> | undefined;
  const getSigner = secretKey === undefined ? undefined : (): Promise<Ed25519Signer> => {
    if (signer === undefined) {
      signer = Ed25519Signer.create(secretKey, { backend });
      signer.catch(() => (signer = undefined));
    }
    return signer;
  };
  const text = encoder.encode(`Message: ${message}\n`);
  return {
    handshakeClient: () =>
      Promise.reject(
        new TypeError("Cannot run the client side with ed25519Server(): use ed25519Client()"),
      ),
    handshakeServer: (conn, signal) =>
      runServer(conn, signal, { getSigner, text, allow, authorize, backend }),
  };
}

// The client.

interface ClientState {
  getSigner: () => Promise<Ed25519Signer>;
  userAgent: string;
  pinned: string | undefined;
  backend: Ed25519Backend;
}

async function runClient(conn: APIConn, signal: AbortSignal, state: ClientState): Promise<void> {
  signal.throwIfAborted();
  const signer = await abortable(state.getSigner(), signal);
  try {
    const nonce = randomBytes(NONCE_LENGTH);
    await write(conn, signal, HELLO, {
      userAgent: state.userAgent,
      publickey: signer.publicKeyHex,
      nonce: toHex(nonce),
    });

    const payload = await readPayload(conn, signal, CHALLENGE, "server");
    const challenge = hexField(payload, "message", "challenge", { max: MAX_CHALLENGE });
    if (challenge.length < NONCE_LENGTH || isZero(challenge.subarray(0, NONCE_LENGTH))) {
      throw new HandshakeError("invalid challenge: no random prefix");
    }
    const match = CHALLENGE_TEXT.exec(utf8(challenge.subarray(NONCE_LENGTH)) ?? "");
    if (match === null) {
      throw new HandshakeError(
        'invalid challenge: text is not "Hello: <key>\\nMessage: <text>\\n"',
      );
    }
    if (match[1] !== signer.publicKeyHex) {
      throw new HandshakeError(
        `challenge is not for this client: it names key ${short(match[1]!)}, ours is ${
          short(signer.publicKeyHex)
        }`,
      );
    }

    let serverKey: Uint8Array | undefined;
    if (payload.publickey !== undefined || payload.signature !== undefined) {
      if (payload.publickey === undefined || payload.signature === undefined) {
        throw new HandshakeError(
          'invalid challenge: fields "publickey" and "signature" must come together',
        );
      }
      serverKey = hexField(payload, "publickey", "challenge", { length: KEY_LENGTH });
      const signature = hexField(payload, "signature", "challenge", { length: SIGNATURE_LENGTH });
      const keyHex = toHex(serverKey);
      if (state.pinned !== undefined && keyHex !== state.pinned) {
        throw new HandshakeError(
          `server key mismatch: expected ${short(state.pinned)}, got ${short(keyHex)}`,
        );
      }
      if (!isValidPublicKey(serverKey)) {
        throw new HandshakeError(
          'invalid challenge: field "publickey" is not a valid ed25519 public key',
        );
      }
      const signed = concat(SERVER_DOMAIN, nonce, challenge);
      if (
        !await abortable(verify(signature, signed, serverKey, { backend: state.backend }), signal)
      ) {
        throw new HandshakeError("invalid server signature");
      }
    } else if (state.pinned !== undefined) {
      throw new HandshakeError(`server did not prove its key: expected ${short(state.pinned)}`);
    }

    const signed = serverKey === undefined
      ? concat(CLIENT_DOMAIN, challenge)
      : concat(CLIENT_DOMAIN, challenge, serverKey);
    const signature = await abortable(signer.sign(signed), signal);
    await write(conn, signal, ACCEPTED, { signature: toHex(signature) });
    await readPayload(conn, signal, COMPLETE, "server");
  } catch (error) {
    await reportFailure(conn, signal, error);
    throw error;
  }
}

// The server.

interface ServerState {
  getSigner: (() => Promise<Ed25519Signer>) | undefined;
  /** UTF-8 `Message: <text>\n`. */
  text: Uint8Array;
  allow: Set<string> | undefined;
  authorize: ((peer: PeerIdentity) => boolean | Promise<boolean>) | undefined;
  backend: Ed25519Backend;
}

async function runServer(
  conn: APIConn,
  signal: AbortSignal,
  state: ServerState,
): Promise<PeerIdentity> {
  signal.throwIfAborted();
  try {
    const signer = state.getSigner === undefined
      ? undefined
      : await abortable(state.getSigner(), signal);

    const hello = await readPayload(conn, signal, HELLO, "client");
    const { userAgent } = hello;
    if (typeof userAgent !== "string") {
      throw new HandshakeError(
        `invalid hello: field "userAgent" is ${kind(userAgent)}, not a string`,
      );
    }
    if (userAgent.length > MAX_USER_AGENT) {
      throw new HandshakeError(
        `invalid hello: field "userAgent" is ${userAgent.length} characters, over ${MAX_USER_AGENT}`,
      );
    }
    const unsafe = unsafeCharacter(userAgent);
    if (unsafe !== undefined) {
      throw new HandshakeError(`invalid hello: field "userAgent" holds ${unsafe}`);
    }
    const clientKey = hexField(hello, "publickey", "hello", { length: KEY_LENGTH });
    if (!isValidPublicKey(clientKey)) {
      throw new HandshakeError(
        'invalid hello: field "publickey" is not a valid ed25519 public key',
      );
    }
    const nonce = hexField(hello, "nonce", "hello", { length: NONCE_LENGTH });
    if (isZero(nonce)) throw new HandshakeError('invalid hello: field "nonce" is all zeros');
    const peer: PeerIdentity = { publicKey: toHex(clientKey), userAgent };

    const challenge = concat(
      randomBytes(NONCE_LENGTH),
      encoder.encode(`Hello: ${peer.publicKey}\n`),
      state.text,
    );
    const serverKey = signer?.publicKey;
    if (signer === undefined) {
      await write(conn, signal, CHALLENGE, { message: toHex(challenge) });
    } else {
      const signature = await abortable(
        signer.sign(concat(SERVER_DOMAIN, nonce, challenge)),
        signal,
      );
      await write(conn, signal, CHALLENGE, {
        message: toHex(challenge),
        publickey: signer.publicKeyHex,
        signature: toHex(signature),
      });
    }

    const accepted = await readPayload(conn, signal, ACCEPTED, "client");
    const signature = hexField(accepted, "signature", "answer", { length: SIGNATURE_LENGTH });
    const signed = serverKey === undefined
      ? concat(CLIENT_DOMAIN, challenge)
      : concat(CLIENT_DOMAIN, challenge, serverKey);
    if (
      !await abortable(verify(signature, signed, clientKey, { backend: state.backend }), signal)
    ) {
      throw new HandshakeError("invalid signature");
    }

    if (state.allow !== undefined && !state.allow.has(peer.publicKey)) {
      throw new PublicKeyRefusedError(peer.publicKey);
    }
    if (state.authorize !== undefined) {
      let allowed: boolean;
      try {
        allowed = await abortable(Promise.resolve(state.authorize({ ...peer })), signal);
      } catch (error) {
        if (signal.aborted && error === signal.reason) throw error;
        const internal = new InternalError(error);
        await sendError(conn, signal, internal.protocolError());
        throw quiet(new HandshakeError(`authorize failed: ${internal.message}`, { cause: error }));
      }
      if (allowed !== true) throw new PublicKeyRefusedError(peer.publicKey);
    }

    await write(conn, signal, COMPLETE, {});
    return peer;
  } catch (error) {
    await reportFailure(conn, signal, error);
    throw error;
  }
}

// Shared steps.

/** Errors not to report to the peer: the peer's own reports, and failures already reported. */
const unreported = new WeakSet<Error>();

function quiet<E extends Error>(error: E): E {
  unreported.add(error);
  return error;
}

/** Sends `ed25519-error` for a local handshake failure; aborts and connection errors are not reported. */
async function reportFailure(conn: APIConn, signal: AbortSignal, error: unknown): Promise<void> {
  if (!(error instanceof HandshakeError) || unreported.has(error)) return;
  await sendError(conn, signal, new ProtocolError(error.message));
}

async function sendError(conn: APIConn, signal: AbortSignal, error: ProtocolError): Promise<void> {
  if (signal.aborted) return;
  try {
    await write(conn, signal, ERROR, { error: error.toJSON() });
  } catch {
    // Best effort: the connection is about to close anyway.
  }
}

function write(
  conn: APIConn,
  signal: AbortSignal,
  command: string,
  payload: unknown,
): Promise<void> {
  return abortable(conn.writeJSON(messageOf(command, "", payload), signal), signal);
}

/** Reads the next message; it must be `expected` (or the peer's `ed25519-error`) with an object payload. */
async function readPayload(
  conn: APIConn,
  signal: AbortSignal,
  expected: string,
  peer: "client" | "server",
): Promise<Record<string, unknown>> {
  const value = await abortable(conn.readJSON(signal), signal);
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
function hexField(
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

function checkText(value: unknown, name: string, max: number): asserts value is string {
  if (typeof value !== "string") {
    throw new TypeError(`Invalid ${name}: expected a string, got ${kind(value)}`);
  }
  if (value.length > max) {
    throw new RangeError(`Invalid ${name}: ${value.length} characters, over ${max}`);
  }
  const unsafe = unsafeCharacter(value);
  if (unsafe !== undefined) throw new RangeError(`Invalid ${name}: it holds ${unsafe}`);
}

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  do crypto.getRandomValues(bytes); while (isZero(bytes));
  return bytes;
}

function isZero(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0);
}

const fatalDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return fatalDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function kind(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "missing";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

/** First 8 hex characters, for error messages. */
function short(hex: string): string {
  return `${hex.slice(0, 8)}…`;
}

/** What makes `text` unsafe to log (its first such character), or undefined. */
function unsafeCharacter(text: string): string | undefined {
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
