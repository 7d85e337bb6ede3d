// Key and signature hex codecs (lib/_ed25519_hex.ts), through their public module.
import assert from "node:assert/strict";
import { decodeKey, encodeHex } from "../lib/ed25519_keys.ts";

const hex = (s: string): Uint8Array => Uint8Array.fromHex(s);

Deno.test("decodeKey() reads 64 hex characters or 32 bytes", () => {
  const key = "0123456789abcdef".repeat(4);
  assert.equal(encodeHex(decodeKey(key)), key);
  assert.equal(encodeHex(decodeKey(key.toUpperCase())), key);
  const bytes = hex(key);
  const copy = decodeKey(bytes);
  assert.deepEqual(copy, bytes);
  assert.notEqual(copy, bytes);
  const table: [unknown, ErrorConstructor][] = [
    ["", RangeError],
    ["ab".repeat(31), RangeError],
    ["ab".repeat(33), RangeError],
    ["abc", RangeError],
    ["zz".repeat(32), SyntaxError],
    [" " + "ab".repeat(32), SyntaxError],
    ["0x" + "ab".repeat(31), SyntaxError],
    [new Uint8Array(31), RangeError],
    [new Uint8Array(33), RangeError],
    [undefined, TypeError],
    [null, TypeError],
    [42, TypeError],
    [new ArrayBuffer(32), TypeError],
    [new Uint16Array(16), TypeError],
    [Array(32).fill(0), TypeError],
  ];
  for (const [input, expected] of table) {
    assert.throws(() => decodeKey(input as string), expected, String(input));
  }
});

Deno.test("encodeHex() writes lowercase hex", () => {
  assert.equal(encodeHex(new Uint8Array()), "");
  assert.equal(encodeHex(Uint8Array.of(0, 0xab, 0xff)), "00abff");
  assert.throws(() => encodeHex("00" as unknown as Uint8Array), TypeError);
});
