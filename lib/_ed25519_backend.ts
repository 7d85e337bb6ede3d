/**
 * The two Ed25519 backends behind lib/ed25519_keys.ts: backend detection
 * (WebCrypto when it passes RFC 8032 TEST 1, else `@noble/ed25519`), the
 * public-key cache with its strict decoding, noble's cofactorless verify, and
 * argument checks. Private: nothing here is exported from the package.
 *
 * @module
 */

import * as ed from "@noble/ed25519";
import { fromBase64url, fromHex, toHex } from "./_bytes.ts";

/**
 * Which implementation signs and verifies. `"auto"` uses WebCrypto when
 * `crypto.subtle` supports Ed25519 (detected once, with a known-answer test)
 * and `@noble/ed25519` otherwise.
 *
 * @example
 * ```ts
 * import { generateKeyPair, type Ed25519Backend } from "@wsrpc/protocol/ed25519";
 * import assert from "node:assert/strict";
 *
 * const backend: Ed25519Backend = "noble";
 * assert.equal((await generateKeyPair({ backend })).publicKey.length, 32);
 * ```
 */
export type Ed25519Backend = "auto" | "webcrypto" | "noble";

export const KEY_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;
/** The order of the prime-order subgroup, RFC 8032 §5.1 (L). */
const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;
/** PKCS#8 PrivateKeyInfo for Ed25519 (RFC 8410 §7), before the 32-byte seed. */
export const PKCS8_PREFIX = fromHex("302e020100300506032b657004220420");
/** RFC 8032 §5.1.2: the identity point (0, 1). noble cannot encode it. */
const IDENTITY_ENCODING = Uint8Array.of(1, ...new Uint8Array(31));
/** RFC 8032 §7.1 TEST 1, the known answer that WebCrypto must give. */
const KAT = {
  secretKey: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
  publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
  signature:
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
} as const;
export const ALGORITHM = { name: "Ed25519" } as const;

let webCryptoSupport: Promise<boolean> | undefined;

/**
 * Resolves a backend choice to the implementation that will run. WebCrypto
 * support is detected once per process, by signing and verifying RFC 8032
 * TEST 1.
 *
 * @param backend The choice; `"auto"` picks WebCrypto when it passes the test.
 * @returns `"webcrypto"` or `"noble"`.
 * @throws {RangeError} When `backend` is not one of the three choices.
 * @throws {DOMException} `NotSupportedError` when `"webcrypto"` is asked for
 * and `crypto.subtle` lacks Ed25519.
 *
 * @example
 * ```ts
 * import { resolveEd25519Backend } from "./_ed25519_backend.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await resolveEd25519Backend("noble"), "noble");
 * assert.ok(["webcrypto", "noble"].includes(await resolveEd25519Backend()));
 * ```
 */
export async function resolveEd25519Backend(
  backend: Ed25519Backend = "auto",
): Promise<"webcrypto" | "noble"> {
  if (backend !== "auto" && backend !== "webcrypto" && backend !== "noble") {
    throw new RangeError(
      `Invalid backend: expected "auto", "webcrypto" or "noble", got ${describe(backend)}`,
    );
  }
  if (backend === "noble") return "noble";
  webCryptoSupport ??= detectWebCrypto();
  if (await webCryptoSupport) return "webcrypto";
  if (backend === "webcrypto") {
    throw new DOMException("Ed25519 is not supported by crypto.subtle", "NotSupportedError");
  }
  return "noble";
}

async function detectWebCrypto(): Promise<boolean> {
  try {
    const subtle = globalThis.crypto?.subtle;
    if (subtle === undefined) return false;
    const secret = await importSecretKey(fromHex(KAT.secretKey), false);
    const signature = new Uint8Array(await subtle.sign(ALGORITHM, secret, new Uint8Array()));
    const pub = await subtle.importKey("raw", fromHex(KAT.publicKey), ALGORITHM, false, [
      "verify",
    ]);
    return toHex(signature) === KAT.signature &&
      await subtle.verify(ALGORITHM, pub, signature, new Uint8Array());
  } catch {
    return false;
  }
}
// Public keys: validated once, with their imported WebCrypto key.

interface PublicKeyEntry {
  /** The decoded point, or undefined when the key is not acceptable. */
  point: ed.Point | undefined;
  webCryptoKey?: Promise<CryptoKey>;
}

const PUBLIC_KEY_CACHE_SIZE = 1024;
const publicKeys = new Map<string, PublicKeyEntry>();

export function publicKeyEntry(publicKey: Uint8Array): PublicKeyEntry {
  const hex = toHex(publicKey);
  let entry = publicKeys.get(hex);
  if (entry !== undefined) {
    // Most recently used last, so eviction drops the least recently used.
    publicKeys.delete(hex);
    publicKeys.set(hex, entry);
    return entry;
  }
  entry = { point: decodePublicKey(publicKey) };
  if (publicKeys.size >= PUBLIC_KEY_CACHE_SIZE) {
    publicKeys.delete(publicKeys.keys().next().value as string);
  }
  publicKeys.set(hex, entry);
  return entry;
}

/** RFC 8032 §5.1.3 decoding with y < p, rejecting x = 0 with the sign bit set, and small-order points. */
function decodePublicKey(publicKey: Uint8Array): ed.Point | undefined {
  try {
    const point = ed.Point.fromBytes(publicKey, false);
    return point.isSmallOrder() ? undefined : point;
  } catch {
    return undefined;
  }
}

/** RFC 8032 §5.1.7 step 1: S must be in [0, L). `s` is 32 bytes, little-endian. */
export function isCanonicalScalar(s: Uint8Array): boolean {
  return BigInt("0x" + toHex(s.toReversed())) < GROUP_ORDER;
}

/**
 * The cofactorless equation, as WebCrypto implementations check it:
 * encode([S]B - [k]A) must equal the signature's R bytes. noble's own verify
 * is cofactored, which accepts signatures whose R has a small-order
 * component; WebCrypto rejects those, so noble's verify is not used.
 */
export async function nobleVerify(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
  point: ed.Point,
): Promise<boolean> {
  const r = signature.subarray(0, KEY_LENGTH);
  const s = BigInt("0x" + toHex(signature.subarray(KEY_LENGTH).toReversed()));
  const hashInput = new Uint8Array(2 * KEY_LENGTH + message.length);
  hashInput.set(r, 0);
  hashInput.set(publicKey, KEY_LENGTH);
  hashInput.set(message, 2 * KEY_LENGTH);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-512", hashInput));
  const k = BigInt("0x" + toHex(digest.toReversed())) % GROUP_ORDER;
  const expected = ed.Point.BASE.multiply(s, false).subtract(point.multiply(k, false));
  const encoded = expected.is0() ? IDENTITY_ENCODING : expected.toBytes();
  return timingSafeEqual(encoded, r);
}

function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export async function importSecretKey(seed: Uint8Array, extractable: boolean): Promise<CryptoKey> {
  const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + KEY_LENGTH);
  pkcs8.set(PKCS8_PREFIX, 0);
  pkcs8.set(seed, PKCS8_PREFIX.length);
  try {
    return await crypto.subtle.importKey("pkcs8", pkcs8, ALGORITHM, extractable, ["sign"]);
  } finally {
    pkcs8.fill(0);
  }
}

export async function webCryptoPublicKey(seed: Uint8Array): Promise<Uint8Array> {
  const key = await importSecretKey(seed, true);
  const jwk = await crypto.subtle.exportKey("jwk", key);
  if (typeof jwk.x !== "string") {
    throw new TypeError("Cannot derive public key: WebCrypto JWK has no x");
  }
  return fromBase64url(jwk.x);
}

/** The bytes on a plain ArrayBuffer, as WebCrypto wants them (copied only when needed). */
export function bufferOf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : new Uint8Array(bytes);
}

export function checkBytes(
  value: unknown,
  name: string,
  length?: number,
): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`Invalid ${name}: expected a Uint8Array, got ${describe(value)}`);
  }
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`Invalid ${name} length: expected ${length} bytes, got ${value.length}`);
  }
}

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return `string ${JSON.stringify(value.slice(0, 16))}`;
  if (typeof value === "object") return value.constructor?.name ?? "object";
  return typeof value;
}
