/**
 * Hex and base64url for byte arrays. The native `Uint8Array` methods
 * (`toHex`, `fromHex`, `fromBase64`) are used where the runtime has them
 * (Deno, Bun, Node 25+, browsers since 2025); older runtimes (Node 22 and
 * 24, older browsers) get a plain fallback, so importing the package never
 * fails for lack of them.
 */

interface NativeBytes {
  toHex?: () => string;
}
interface NativeBytesConstructor {
  fromHex?: (hex: string) => Uint8Array<ArrayBuffer>;
  fromBase64?: (text: string, options: { alphabet: "base64url" }) => Uint8Array<ArrayBuffer>;
}

const native = Uint8Array as unknown as NativeBytesConstructor;
const hasToHex = typeof (Uint8Array.prototype as NativeBytes).toHex === "function";
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Bytes as lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  if (hasToHex) return (bytes as NativeBytes).toHex!();
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/**
 * Hex (either case) as bytes.
 *
 * @throws {SyntaxError} When `hex` has an odd length or a non-hex character.
 */
export function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  if (native.fromHex) return native.fromHex(hex);
  if (!HEX.test(hex)) throw new SyntaxError("Cannot decode hex: odd length or invalid character");
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** Unpadded or padded base64url as bytes. */
export function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  if (native.fromBase64) return native.fromBase64(text, { alphabet: "base64url" });
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  const binary = atob(base64 + "=".repeat((4 - base64.length % 4) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** Eight random bytes as 16 lowercase hex characters: a protocol error's trace. */
export function randomTrace(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(8)));
}

/** The bytes of `parts`, one after another. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
