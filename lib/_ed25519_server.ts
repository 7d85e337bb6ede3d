/**
 * The server half of the ed25519 handshake: check the hello, challenge (and
 * prove the server's key), verify the answer, authorize. Private;
 * {@linkcode ed25519Server} is public.
 *
 * @module
 */

import { abortable } from "./_deadline.ts";
import { HandshakeError, InternalError } from "./errors.ts";
import type { APIConn, PeerIdentity } from "./message.ts";
import {
  type Ed25519Backend,
  type Ed25519Signer,
  isValidPublicKey,
  verify,
} from "./ed25519_keys.ts";
import { concat, fromHex, toHex } from "./_bytes.ts";
import {
  ACCEPTED,
  CHALLENGE,
  CLIENT_DOMAIN,
  COMPLETE,
  encoder,
  HELLO,
  hexField,
  isZero,
  KEY_LENGTH,
  kind,
  MAX_USER_AGENT,
  NONCE_LENGTH,
  quiet,
  randomBytes,
  readPayload,
  reportFailure,
  sendError,
  SERVER_DOMAIN,
  SIGNATURE_LENGTH,
  unsafeCharacter,
  write,
} from "./_ed25519_wire.ts";

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

export interface ServerState {
  getSigner: (() => Promise<Ed25519Signer>) | undefined;
  /** UTF-8 `Message: <text>\n`. */
  text: Uint8Array;
  allow: Set<string> | undefined;
  authorize: ((peer: PeerIdentity) => boolean | Promise<boolean>) | undefined;
  backend: Ed25519Backend;
}

/**
 * The server's state between its challenge and the client's answer, all of
 * it JSON (lowercase hex): what a Durable Object keeps in the socket's
 * attachment so that the handshake survives a hibernation between them.
 */
export interface PendingAnswer {
  clientKey: string;
  userAgent: string;
  challenge: string;
  /** The server's own key, when it proved it. */
  serverKey?: string;
}

/**
 * Where to start: from the client's hello (no `from`), or from a
 * {@linkcode PendingAnswer} saved by an earlier run; `save` hears the
 * pending state before the challenge is sent.
 */
export interface ServerResume {
  from?: PendingAnswer;
  save?: (pending: PendingAnswer) => void;
}

/**
 * Rejects as soon as `signal` aborts. The steps inside are not each wrapped
 * (one abort listener per handshake, not one per await): they check the
 * signal after every await instead, so nothing is sent once it has aborted,
 * even over a connection that ignores the signal.
 */
export function runServer(
  conn: APIConn,
  signal: AbortSignal,
  state: ServerState,
  resume: ServerResume = {},
): Promise<PeerIdentity> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return abortable(serverSteps(conn, signal, state, resume), signal);
}

async function serverSteps(
  conn: APIConn,
  signal: AbortSignal,
  state: ServerState,
  resume: ServerResume,
): Promise<PeerIdentity> {
  try {
    const pending = resume.from ?? await challenge(conn, signal, state, resume.save);
    return await checkAnswer(conn, signal, state, pending);
  } catch (error) {
    await reportFailure(conn, signal, error);
    throw error;
  }
}

/** Reads and checks the hello, sends the challenge. */
async function challenge(
  conn: APIConn,
  signal: AbortSignal,
  state: ServerState,
  save: ((pending: PendingAnswer) => void) | undefined,
): Promise<PendingAnswer> {
  const signer = state.getSigner === undefined ? undefined : await state.getSigner();
  signal.throwIfAborted();

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
  const publicKey = toHex(clientKey);

  const challenge = concat(
    randomBytes(NONCE_LENGTH),
    encoder.encode(`Hello: ${publicKey}\n`),
    state.text,
  );
  const pending: PendingAnswer = { clientKey: publicKey, userAgent, challenge: toHex(challenge) };
  if (signer === undefined) {
    save?.(pending);
    await write(conn, signal, CHALLENGE, { message: pending.challenge });
  } else {
    const signature = await signer.sign(concat(SERVER_DOMAIN, nonce, challenge));
    signal.throwIfAborted();
    pending.serverKey = signer.publicKeyHex;
    save?.(pending);
    await write(conn, signal, CHALLENGE, {
      message: pending.challenge,
      publickey: signer.publicKeyHex,
      signature: toHex(signature),
    });
  }
  return pending;
}

/** Reads and verifies the answer to `pending`'s challenge, authorizes, completes. */
async function checkAnswer(
  conn: APIConn,
  signal: AbortSignal,
  state: ServerState,
  pending: PendingAnswer,
): Promise<PeerIdentity> {
  const peer: PeerIdentity = { publicKey: pending.clientKey, userAgent: pending.userAgent };
  const challenge = fromHex(pending.challenge);
  const accepted = await readPayload(conn, signal, ACCEPTED, "client");
  const signature = hexField(accepted, "signature", "answer", { length: SIGNATURE_LENGTH });
  const signed = pending.serverKey === undefined
    ? concat(CLIENT_DOMAIN, challenge)
    : concat(CLIENT_DOMAIN, challenge, fromHex(pending.serverKey));
  const valid = verify(signature, signed, fromHex(pending.clientKey), { backend: state.backend });
  const checked = await valid;
  signal.throwIfAborted();
  if (!checked) throw new HandshakeError("invalid signature");

  if (state.allow !== undefined && !state.allow.has(peer.publicKey)) {
    throw new PublicKeyRefusedError(peer.publicKey);
  }
  if (state.authorize !== undefined) {
    let allowed: boolean;
    try {
      allowed = await state.authorize({ ...peer });
      signal.throwIfAborted();
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
}
