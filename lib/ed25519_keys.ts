/**
 * Ed25519 keys, signatures and verification (RFC 8032 §5.1) on two backends:
 * WebCrypto, when `crypto.subtle` supports Ed25519, and `@noble/ed25519`
 * otherwise. Both backends give identical results for every input:
 *
 * - A secret key is the 32-byte seed, a public key the 32-byte point
 *   (RFC 8032 §5.1.5), both lowercase hex in JSON and in files.
 * - Verification is the cofactorless check `[S]B = R + [k]A` of RFC 8032
 *   §5.1.7 with a strict encoding rule on both backends: a public key must
 *   decode canonically (y < p) and must not be of small order, and `S` must be
 *   below the group order L. Raw WebCrypto accepts the identity point as a
 *   public key, which any signature `(R = identity, S = 0)` verifies for every
 *   message; noble's default is cofactored (ZIP-215). Both are closed here.
 *
 * @module
 */

import * as ed from "@noble/ed25519";
import { toHex } from "./_bytes.ts";
import {
  ALGORITHM,
  bufferOf,
  checkBytes,
  type Ed25519Backend,
  importSecretKey,
  isCanonicalScalar,
  KEY_LENGTH,
  nobleVerify,
  PKCS8_PREFIX,
  publicKeyEntry,
  resolveEd25519Backend,
  SIGNATURE_LENGTH,
  webCryptoPublicKey,
} from "./_ed25519_backend.ts";
import { decodeKey } from "./_ed25519_hex.ts";

export type { Ed25519Backend };
export { decodeKey, encodeHex } from "./_ed25519_hex.ts";

/**
 * Options of the Ed25519 key tools.
 *
 * @example
 * ```ts
 * import { generateKeyPair, sign, type Ed25519Options } from "@wsrpc/protocol/ed25519";
 * import assert from "node:assert/strict";
 *
 * // Both backends compute the same (deterministic) signature.
 * const options: Ed25519Options = { backend: "noble" };
 * const { secretKey } = await generateKeyPair(options);
 * const message = Uint8Array.of(1, 2, 3);
 * assert.deepEqual(await sign(message, secretKey, options), await sign(message, secretKey));
 * ```
 */
export interface Ed25519Options {
  /**
   * The implementation to use.
   *
   * @default {"auto"}
   */
  backend?: Ed25519Backend;
}

/**
 * A secret key (32-byte seed) with its public key (32-byte point).
 *
 * @example
 * ```ts
 * import { generateKeyPair, type Ed25519KeyPair } from "@wsrpc/protocol/ed25519";
 * import assert from "node:assert/strict";
 *
 * const pair: Ed25519KeyPair = await generateKeyPair();
 * assert.equal(pair.publicKey.length, 32);
 * ```
 */
export interface Ed25519KeyPair {
  /** The 32-byte seed. Keep it secret. */
  secretKey: Uint8Array;
  /** The 32-byte public key. */
  publicKey: Uint8Array;
}

/**
 * Makes a fresh key pair from the platform's secure random source.
 *
 * @param options The `backend`.
 * @returns A 32-byte secret key (seed) and its 32-byte public key.
 * @throws {RangeError} For an unknown backend.
 *
 * @example
 * ```ts
 * import { generateKeyPair, publicKeyFromSecret } from "@wsrpc/protocol/ed25519";
 * import assert from "node:assert/strict";
 *
 * const { secretKey, publicKey } = await generateKeyPair();
 * assert.deepEqual(await publicKeyFromSecret(secretKey), publicKey);
 * ```
 */
export async function generateKeyPair(options: Ed25519Options = {}): Promise<Ed25519KeyPair> {
  const backend = await resolveEd25519Backend(options.backend);
  if (backend === "webcrypto") {
    const pair = await crypto.subtle.generateKey(ALGORITHM, true, [
      "sign",
      "verify",
    ]) as CryptoKeyPair;
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
    const secretKey = pkcs8.slice(PKCS8_PREFIX.length);
    pkcs8.fill(0);
    const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    return { secretKey, publicKey };
  }
  const secretKey = ed.utils.randomSecretKey();
  return { secretKey, publicKey: await ed.getPublicKeyAsync(secretKey) };
}

/**
 * Derives the public key of a secret key (RFC 8032 §5.1.5).
 *
 * @param secretKey The 32-byte seed.
 * @param options The `backend`.
 * @returns The 32-byte public key.
 * @throws {TypeError} When `secretKey` is not a `Uint8Array`.
 * @throws {RangeError} When `secretKey` is not 32 bytes, or for an unknown backend.
 *
 * @example RFC 8032 §7.1 TEST 1
 * ```ts
 * import { decodeKey, encodeHex, publicKeyFromSecret } from "@wsrpc/protocol/ed25519";
 * import assert from "node:assert/strict";
 *
 * const secretKey = decodeKey("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
 * assert.equal(
 *   encodeHex(await publicKeyFromSecret(secretKey)),
 *   "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
 * );
 * ```
 */
export async function publicKeyFromSecret(
  secretKey: Uint8Array,
  options: Ed25519Options = {},
): Promise<Uint8Array> {
  checkBytes(secretKey, "secretKey", KEY_LENGTH);
  const backend = await resolveEd25519Backend(options.backend);
  return backend === "webcrypto"
    ? await webCryptoPublicKey(secretKey)
    : await ed.getPublicKeyAsync(secretKey.slice());
}

/**
 * Signs a message (RFC 8032 §5.1.6). Signatures are deterministic, so both
 * backends return the same bytes. To sign many messages with one key, make an
 * {@linkcode Ed25519Signer}: it imports the key once.
 *
 * @param message The bytes to sign.
 * @param secretKey The 32-byte seed.
 * @param options The `backend`.
 * @returns The 64-byte signature `R || S`.
 * @throws {TypeError} When `message` or `secretKey` is not a `Uint8Array`.
 * @throws {RangeError} When `secretKey` is not 32 bytes, or for an unknown backend.
 *
 * @example
 * ```ts
 * import { generateKeyPair, sign, verify } from "@wsrpc/protocol/ed25519";
 * import assert from "node:assert/strict";
 *
 * const { secretKey, publicKey } = await generateKeyPair();
 * const message = new TextEncoder().encode("hello");
 * const signature = await sign(message, secretKey);
 * assert.equal(signature.length, 64);
 * assert.equal(await verify(signature, message, publicKey), true);
 * ```
 */
export async function sign(
  message: Uint8Array,
  secretKey: Uint8Array,
  options: Ed25519Options = {},
): Promise<Uint8Array> {
  checkBytes(message, "message");
  const signer = await Ed25519Signer.create(secretKey, options);
  return await signer.sign(message);
}

/**
 * Checks a signature (RFC 8032 §5.1.7, cofactorless, strict encodings). A
 * signature that does not verify, a public key that is not a canonical point
 * or is of small order, and an `S` not below the group order all give
 * `false`; only arguments of the wrong type or length throw. Imported public
 * keys are cached, so verifying many signatures of one key imports it once.
 *
 * @param signature The 64-byte signature.
 * @param message The signed bytes.
 * @param publicKey The signer's 32-byte public key.
 * @param options The `backend`.
 * @returns Whether the signature is valid.
 * @throws {TypeError} When an argument is not a `Uint8Array`.
 * @throws {RangeError} When `signature` is not 64 bytes, `publicKey` not 32, or
 * for an unknown backend.
 *
 * @example
 * ```ts
 * import { generateKeyPair, sign, verify } from "@wsrpc/protocol/ed25519";
 * import assert from "node:assert/strict";
 *
 * const { secretKey, publicKey } = await generateKeyPair();
 * const signature = await sign(Uint8Array.of(1, 2, 3), secretKey);
 * assert.equal(await verify(signature, Uint8Array.of(1, 2, 3), publicKey, { backend: "noble" }), true);
 * assert.equal(await verify(signature, Uint8Array.of(1, 2, 4), publicKey), false);
 * await assert.rejects(verify(signature.subarray(1), Uint8Array.of(1, 2, 3), publicKey), RangeError);
 * ```
 */
export async function verify(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
  options: Ed25519Options = {},
): Promise<boolean> {
  checkBytes(signature, "signature", SIGNATURE_LENGTH);
  checkBytes(message, "message");
  checkBytes(publicKey, "publicKey", KEY_LENGTH);
  const backend = await resolveEd25519Backend(options.backend);
  const entry = publicKeyEntry(publicKey);
  if (entry.point === undefined) return false;
  if (!isCanonicalScalar(signature.subarray(KEY_LENGTH))) return false;
  if (backend === "webcrypto") {
    let key = entry.webCryptoKey;
    if (key === undefined) {
      key = crypto.subtle.importKey("raw", bufferOf(publicKey), ALGORITHM, false, ["verify"]);
      entry.webCryptoKey = key;
      key.catch(() => {
        if (entry.webCryptoKey === key) delete entry.webCryptoKey;
      });
    }
    return await crypto.subtle.verify(ALGORITHM, await key, bufferOf(signature), bufferOf(message));
  }
  return await nobleVerify(signature, message, publicKey, entry.point);
}

/**
 * Tells whether 32 bytes are a usable Ed25519 public key: the canonical
 * encoding (RFC 8032 §5.1.3) of a curve point that is not of small order.
 * {@linkcode verify} returns `false` for every other key.
 *
 * @param publicKey The candidate key.
 * @returns Whether `verify` can accept signatures of this key.
 * @throws {TypeError} When `publicKey` is not a `Uint8Array`.
 * @throws {RangeError} When `publicKey` is not 32 bytes.
 *
 * @example
 * ```ts
 * import { generateKeyPair, isValidPublicKey } from "@wsrpc/protocol/ed25519";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isValidPublicKey((await generateKeyPair()).publicKey), true);
 * const identity = new Uint8Array(32);
 * identity[0] = 1; // the neutral point: every signature would "verify"
 * assert.equal(isValidPublicKey(identity), false);
 * ```
 */
export function isValidPublicKey(publicKey: Uint8Array): boolean {
  checkBytes(publicKey, "publicKey", KEY_LENGTH);
  return publicKeyEntry(publicKey).point !== undefined;
}

/**
 * Signs with one secret key, imported once: holds a non-extractable WebCrypto
 * key, or a private copy of the seed for the noble backend. Safe to use
 * concurrently.
 *
 * @example
 * ```ts
 * import { Ed25519Signer, generateKeyPair, verify } from "@wsrpc/protocol/ed25519";
 * import assert from "node:assert/strict";
 *
 * const { secretKey, publicKey } = await generateKeyPair();
 * const signer = await Ed25519Signer.create(secretKey);
 * assert.deepEqual(signer.publicKey, publicKey);
 * const signature = await signer.sign(Uint8Array.of(42));
 * assert.equal(await verify(signature, Uint8Array.of(42), publicKey), true);
 * assert.deepEqual(await signer.sign(Uint8Array.of(42)), signature); // deterministic
 * ```
 */
export class Ed25519Signer {
  /** The implementation in use. */
  readonly backend: "webcrypto" | "noble";
  /** The public key, lowercase hex. */
  readonly publicKeyHex: string;
  readonly #publicKey: Uint8Array;
  readonly #key: CryptoKey | Uint8Array;

  private constructor(
    backend: "webcrypto" | "noble",
    publicKey: Uint8Array,
    key: CryptoKey | Uint8Array,
  ) {
    this.backend = backend;
    this.#publicKey = publicKey;
    this.publicKeyHex = toHex(publicKey);
    this.#key = key;
  }

  /**
   * Imports a secret key.
   *
   * @param secretKey The 32-byte seed, as bytes or 64 hex characters.
   * @param options The `backend`.
   * @returns A signer for that key.
   * @throws {TypeError} When `secretKey` is neither a `Uint8Array` nor a string.
   * @throws {RangeError} When `secretKey` is not 32 bytes, or for an unknown backend.
   * @throws {SyntaxError} When a string `secretKey` is not hex.
   *
   * @example
   * ```ts
   * import { Ed25519Signer } from "@wsrpc/protocol/ed25519";
   * import assert from "node:assert/strict";
   *
   * const signer = await Ed25519Signer.create(
   *   "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
   *   { backend: "noble" },
   * );
   * assert.equal(signer.publicKeyHex, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
   * ```
   */
  static async create(
    secretKey: Uint8Array | string,
    options: Ed25519Options = {},
  ): Promise<Ed25519Signer> {
    const seed = decodeKey(secretKey);
    const backend = await resolveEd25519Backend(options.backend);
    if (backend === "webcrypto") {
      const publicKey = await webCryptoPublicKey(seed);
      const key = await importSecretKey(seed, false);
      seed.fill(0);
      return new Ed25519Signer(backend, publicKey, key);
    }
    return new Ed25519Signer(backend, await ed.getPublicKeyAsync(seed), seed);
  }

  /**
   * The public key.
   *
   * @returns A copy of the 32-byte public key.
   */
  get publicKey(): Uint8Array {
    return this.#publicKey.slice();
  }

  /**
   * Signs a message (RFC 8032 §5.1.6).
   *
   * @param message The bytes to sign.
   * @returns The 64-byte signature.
   * @throws {TypeError} When `message` is not a `Uint8Array`.
   */
  async sign(message: Uint8Array): Promise<Uint8Array> {
    checkBytes(message, "message");
    const key = this.#key;
    if (key instanceof Uint8Array) return await ed.signAsync(message.slice(), key);
    return new Uint8Array(await crypto.subtle.sign(ALGORITHM, key, bufferOf(message)));
  }
}
