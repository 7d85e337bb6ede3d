/**
 * Keys and signatures as hex, the form they take in JSON and in files:
 * `decodeKey` (64 hex characters, either case, or 32 bytes) and `encodeHex`
 * (lowercase). Exported from `ed25519_keys.ts`.
 */

import { fromHex, toHex } from "./_bytes.ts";
import { checkBytes, describe, KEY_LENGTH } from "./_ed25519_backend.ts";

/**
 * Reads a 32-byte key given as 64 hex characters (either case) or as bytes.
 *
 * @param key The key, as hex or bytes.
 * @returns A fresh copy of the 32 bytes.
 * @throws {TypeError} When `key` is neither a string nor a `Uint8Array`.
 * @throws {SyntaxError} When a string holds a character that is not hex.
 * @throws {RangeError} When the key is not 32 bytes long.
 *
 * @example
 * ```ts
 * import { decodeKey } from "@wsrpc/protocol/ed25519";
 * import assert from "node:assert/strict";
 *
 * assert.equal(decodeKey("ab".repeat(32)).length, 32);
 * assert.throws(() => decodeKey("ab".repeat(31)), RangeError);
 * assert.throws(() => decodeKey("zz".repeat(32)), SyntaxError);
 * ```
 */
export function decodeKey(key: Uint8Array | string): Uint8Array {
  if (typeof key === "string") {
    if (!/^[0-9a-fA-F]*$/.test(key)) {
      throw new SyntaxError("Cannot decode key: it is not hexadecimal");
    }
    if (key.length !== 2 * KEY_LENGTH) {
      throw new RangeError(
        `Invalid key length: expected ${2 * KEY_LENGTH} hex characters, got ${key.length}`,
      );
    }
    return fromHex(key);
  }
  if (!(key instanceof Uint8Array)) {
    throw new TypeError(`Invalid key: expected a hex string or a Uint8Array, got ${describe(key)}`);
  }
  checkBytes(key, "key", KEY_LENGTH);
  return key.slice();
}

/**
 * Encodes bytes as lowercase hex, the form keys and signatures take in JSON.
 *
 * @param bytes The bytes.
 * @returns Two lowercase hex characters per byte.
 * @throws {TypeError} When `bytes` is not a `Uint8Array`.
 *
 * @example
 * ```ts
 * import { encodeHex } from "@wsrpc/protocol/ed25519";
 * import assert from "node:assert/strict";
 *
 * assert.equal(encodeHex(Uint8Array.of(0, 171, 255)), "00abff");
 * ```
 */
export function encodeHex(bytes: Uint8Array): string {
  checkBytes(bytes, "bytes");
  return toHex(bytes);
}
