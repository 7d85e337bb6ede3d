/**
 * The ed25519 handshake: a challenge-response {@linkcode Authenticator} in
 * which the client proves its key, and a server with a key of its own proves
 * that key too. Every signature is domain-separated and bound to the peer's
 * key and to fresh randomness, so it cannot be replayed or relayed.
 *
 * The four frames of the exchange, the signed bytes and the failures are in
 * docs/wire-format.md ("The ed25519 handshake") and docs/close-codes.md.
 *
 * @module
 */

import type { Authenticator, PeerIdentity } from "./message.ts";
import { decodeKey, type Ed25519Backend, Ed25519Signer } from "./ed25519_keys.ts";
import { toHex } from "./_bytes.ts";
import { runClient } from "./_ed25519_client.ts";
import {
  type PendingAnswer,
  PublicKeyRefusedError,
  runServer,
  type ServerState,
} from "./_ed25519_server.ts";
import { withResume } from "./_resumable.ts";
import { checkText, encoder, MAX_SERVER_MESSAGE, MAX_USER_AGENT } from "./_ed25519_wire.ts";

export { PublicKeyRefusedError };

/**
 * Options of {@linkcode ed25519Client}.
 *
 * @example
 * ```ts
 * import { ed25519Client } from "@wsrpc/protocol";
 * import { type Ed25519ClientOptions } from "@wsrpc/protocol/ed25519";
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
 * import { ed25519Client, ed25519Server } from "@wsrpc/protocol";
 * import { generateKeyPair } from "@wsrpc/protocol/ed25519";
 * import type { APIConn } from "@wsrpc/protocol";
 * import type { Ed25519ServerOptions } from "@wsrpc/protocol/ed25519";
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
 * import { ed25519Client, ed25519Server, type APIConn } from "@wsrpc/protocol";
 * import { encodeHex, generateKeyPair } from "@wsrpc/protocol/ed25519";
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
 * import { ed25519Client, ed25519Server, PublicKeyRefusedError } from "@wsrpc/protocol";
 * import { encodeHex, generateKeyPair } from "@wsrpc/protocol/ed25519";
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
  const state: ServerState = { getSigner, text, allow, authorize, backend };
  // Resumable from a checkpoint (see `_resumable.ts`): the Cloudflare adapter
  // finishes a handshake that a hibernation interrupted.
  return withResume({
    handshakeClient: () =>
      Promise.reject(
        new TypeError("Cannot run the client side with ed25519Server(): use ed25519Client()"),
      ),
    handshakeServer: (conn, signal) => runServer(conn, signal, state),
  }, (conn, signal, { from, save }) =>
    runServer(conn, signal, state, {
      ...(from === undefined ? {} : { from: from as PendingAnswer }),
      save,
    }));
}
