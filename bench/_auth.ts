/**
 * How the benchmark's servers and clients authenticate: `serverAuthenticator`
 * for a server mode, `clientAuthenticator` for a client spec's `auth`. Besides
 * the ed25519 handshake (WebCrypto or noble), `frames` is a benchmark-only
 * handshake with the ed25519 handshake's four messages (hello, challenge,
 * accepted, complete: the same commands, fields and sizes) and no
 * cryptography, each side only checking that the expected command arrived.
 * Connections per second with it against bare wsrpc show what the
 * handshake's message pattern costs by itself; from it to the real handshake
 * is what the four signature operations cost. It proves nothing: never use
 * it outside the benchmark.
 *
 * @module
 */

import { type APIConn, type Authenticator, HandshakeError, type PeerIdentity } from "../mod.ts";
import { ed25519Client, ed25519Server } from "../lib/ed25519_authenticator.ts";
import { decodeKey, publicKeyFromSecret } from "../lib/ed25519_keys.ts";
import { CLIENT_SECRET, SERVER_SECRET } from "./_keys.ts";

/** A client's `auth`: the ed25519 backend, or the handshake's frames alone. */
export type BenchAuth = "webcrypto" | "noble" | "frames";

/** The authenticator of a wsrpc server mode (`wsrpc`, `wsrpc-auth-<BenchAuth>`). */
export function serverAuthenticator(mode: string): Authenticator | undefined {
  if (mode === "wsrpc") return undefined;
  if (mode === "wsrpc-auth-frames") return framesOnlyAuthenticator;
  if (mode === "wsrpc-auth-webcrypto" || mode === "wsrpc-auth-noble") {
    return ed25519Server({ secretKey: SERVER_SECRET, backend: mode.slice(11) as "webcrypto" });
  }
  throw new Error(`unknown wsrpc mode ${mode}`);
}

/** The authenticator of a client spec's `auth` (the ed25519 client pins the server's key). */
export async function clientAuthenticator(
  auth: BenchAuth | undefined,
): Promise<Authenticator | undefined> {
  if (auth === undefined) return undefined;
  if (auth === "frames") return framesOnlyAuthenticator;
  const serverPublicKey = await publicKeyFromSecret(decodeKey(SERVER_SECRET), { backend: auth });
  return ed25519Client({ secretKey: CLIENT_SECRET, serverPublicKey, backend: auth });
}

const HELLO = "ed25519-hello";
const CHALLENGE = "ed25519-hello-challenge";
const ACCEPTED = "ed25519-hello-challenge-accepted";
const COMPLETE = "ed25519-hello-complete";
const USER_AGENT = "wsrpc-bench";

/** `bytes` random bytes, as lowercase hex: the size of the real fields. */
function randomHex(bytes: number): string {
  return crypto.getRandomValues(new Uint8Array(bytes)).toHex();
}

async function send(
  conn: APIConn,
  signal: AbortSignal,
  command: string,
  payload: unknown,
): Promise<void> {
  await conn.writeJSON({ header: { command }, payload }, signal);
}

async function expect(conn: APIConn, signal: AbortSignal, command: string): Promise<unknown> {
  const message = await conn.readJSON(signal) as { header?: { command?: unknown } } | undefined;
  if (message?.header?.command !== command) {
    throw new HandshakeError(`expected ${command}, got ${JSON.stringify(message?.header)}`);
  }
  return (message as { payload?: unknown }).payload;
}

/** The four messages, without signing or verifying anything. */
const framesOnlyAuthenticator: Authenticator = {
  async handshakeClient(conn: APIConn, signal: AbortSignal): Promise<void> {
    const publicKey = randomHex(32);
    await send(conn, signal, HELLO, {
      userAgent: USER_AGENT,
      publickey: publicKey,
      nonce: randomHex(16),
    });
    await expect(conn, signal, CHALLENGE);
    await send(conn, signal, ACCEPTED, { signature: randomHex(64) });
    await expect(conn, signal, COMPLETE);
  },
  async handshakeServer(conn: APIConn, signal: AbortSignal): Promise<PeerIdentity> {
    const hello = await expect(conn, signal, HELLO) as { publickey?: unknown };
    const publicKey = String(hello?.publickey);
    const challenge = randomHex(16) +
      new TextEncoder().encode(`Hello: ${publicKey}\nMessage: \n`).toHex();
    await send(conn, signal, CHALLENGE, {
      message: challenge,
      publickey: randomHex(32),
      signature: randomHex(64),
    });
    await expect(conn, signal, ACCEPTED);
    await send(conn, signal, COMPLETE, {});
    return { publicKey, userAgent: USER_AGENT };
  },
};
