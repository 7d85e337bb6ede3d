/**
 * Everything ed25519 in one place: the handshake's authenticators and their
 * options (also at the package root), and the keys behind them: generation,
 * derivation, signatures (RFC 8032 §5.1) and hex key codecs, on WebCrypto
 * when the platform supports Ed25519 and on `@noble/ed25519` otherwise.
 * The handshake's frames are described in docs/wire-format.md.
 *
 * @example A key pair for a client, its public key for the server's allow-list
 * ```ts
 * import { ed25519Client, ed25519Server, encodeHex, generateKeyPair } from "@wsrpc/protocol/ed25519";
 * import assert from "node:assert/strict";
 *
 * const { secretKey, publicKey } = await generateKeyPair();
 * const client = ed25519Client({ secretKey, userAgent: "example/1.0" });
 * const server = ed25519Server({ allow: [encodeHex(publicKey)] });
 * assert.equal(typeof client.handshakeClient, "function");
 * assert.equal(typeof server.handshakeServer, "function");
 * ```
 *
 * @module
 */

export { ed25519Client, ed25519Server, PublicKeyRefusedError } from "./ed25519_authenticator.ts";
export type { Ed25519ClientOptions, Ed25519ServerOptions } from "./ed25519_authenticator.ts";
export { PUBLIC_KEY_AUTH_ERROR } from "./errors.ts";
export {
  decodeKey,
  Ed25519Signer,
  encodeHex,
  generateKeyPair,
  isValidPublicKey,
  publicKeyFromSecret,
  sign,
  verify,
} from "./ed25519_keys.ts";
export type { Ed25519Backend, Ed25519KeyPair, Ed25519Options } from "./ed25519_keys.ts";
