/**
 * The client half of the ed25519 handshake: hello, check the challenge and
 * the server's proof, answer. Private; {@linkcode ed25519Client} is public.
 *
 * @module
 */

import { abortable } from "./_deadline.ts";
import { HandshakeError } from "./errors.ts";
import type { APIConn } from "./message.ts";
import {
  type Ed25519Backend,
  type Ed25519Signer,
  isValidPublicKey,
  verify,
} from "./ed25519_keys.ts";
import { concat, toHex } from "./_bytes.ts";
import {
  ACCEPTED,
  CHALLENGE,
  CHALLENGE_TEXT,
  CLIENT_DOMAIN,
  COMPLETE,
  HELLO,
  hexField,
  isZero,
  KEY_LENGTH,
  MAX_CHALLENGE,
  NONCE_LENGTH,
  randomBytes,
  readPayload,
  reportFailure,
  SERVER_DOMAIN,
  short,
  SIGNATURE_LENGTH,
  utf8,
  write,
} from "./_ed25519_wire.ts";

export interface ClientState {
  getSigner: () => Promise<Ed25519Signer>;
  userAgent: string;
  pinned: string | undefined;
  backend: Ed25519Backend;
}

/**
 * Rejects as soon as `signal` aborts; the steps inside check the signal after
 * every await instead of each holding an abort listener (see `runServer`).
 */
export function runClient(
  conn: APIConn,
  signal: AbortSignal,
  state: ClientState,
): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return abortable(clientSteps(conn, signal, state), signal);
}

async function clientSteps(
  conn: APIConn,
  signal: AbortSignal,
  state: ClientState,
): Promise<void> {
  const signer = await state.getSigner();
  signal.throwIfAborted();
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
    let serverProof: Promise<boolean> | undefined;
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
      serverProof = verify(signature, signed, serverKey, { backend: state.backend });
    } else if (state.pinned !== undefined) {
      throw new HandshakeError(`server did not prove its key: expected ${short(state.pinned)}`);
    }

    const signed = serverKey === undefined
      ? concat(CLIENT_DOMAIN, challenge)
      : concat(CLIENT_DOMAIN, challenge, serverKey);
    // Sign while the server's signature is being checked (a runtime may run
    // both on other threads); the signature is sent only once that check holds.
    const signing = signer.sign(signed);
    signing.catch(() => {}); // awaited below, unless the server's proof fails first
    if (serverProof !== undefined) {
      const proven = await serverProof;
      signal.throwIfAborted();
      if (!proven) throw new HandshakeError("invalid server signature");
    }
    const signature = await signing;
    signal.throwIfAborted();
    await write(conn, signal, ACCEPTED, { signature: toHex(signature) });
    await readPayload(conn, signal, COMPLETE, "server");
  } catch (error) {
    await reportFailure(conn, signal, error);
    throw error;
  }
}
