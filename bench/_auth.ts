/**
 * How the benchmark's servers and clients authenticate: `serverAuthenticator`
 * for a server mode, `clientAuthenticator` for a client spec's `auth`. Besides
 * the ed25519 handshake (WebCrypto or noble), two benchmark-only handshakes
 * send the ed25519 handshake's messages (the same commands, fields and sizes)
 * with no cryptography, each side only checking that the expected command
 * arrived: `frames` all four (hello, challenge, accepted, complete), `frames2`
 * only the hello and the challenge, one frame each way, as few frames as any
 * handshake can add in which each side answers a challenge from the other.
 * Connections per second with them against bare wsrpc show what a message
 * pattern costs by itself; from `frames` to the real handshake is what the
 * four signature operations cost. They prove nothing: never use them outside
 * the benchmark.
 *
 * @module
 */

import { type APIConn, type Authenticator, HandshakeError, type PeerIdentity } from "../mod.ts";
import { ed25519Client, ed25519Server } from "../lib/ed25519_authenticator.ts";
import { decodeKey, publicKeyFromSecret } from "../lib/ed25519_keys.ts";
import { CLIENT_SECRET, SERVER_SECRET } from "./_keys.ts";

/** A client's `auth`: the ed25519 backend, or the handshake's frames alone. */
export type BenchAuth = "webcrypto" | "noble" | "frames" | "frames2";

/** The authenticator of a wsrpc server mode (`wsrpc`, `wsrpc-auth-<BenchAuth>`). */
export function serverAuthenticator(mode: string): Authenticator | undefined {
  if (mode === "wsrpc") return undefined;
  if (mode === "wsrpc-auth-frames") return framesOnly(4);
  if (mode === "wsrpc-auth-frames2") return framesOnly(2);
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
  if (auth === "frames") return framesOnly(4);
  if (auth === "frames2") return framesOnly(2);
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

/** The handshake's first `count` messages, without signing or verifying anything. */
function framesOnly(count: 2 | 4): Authenticator {
  return {
    async handshakeClient(conn: APIConn, signal: AbortSignal): Promise<void> {
      await send(conn, signal, HELLO, {
        userAgent: USER_AGENT,
        publickey: randomHex(32),
        nonce: randomHex(16),
      });
      await expect(conn, signal, CHALLENGE);
      if (count === 2) return;
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
      if (count === 4) {
        await expect(conn, signal, ACCEPTED);
        await send(conn, signal, COMPLETE, {});
      }
      return { publicKey, userAgent: USER_AGENT };
    },
  };
}
