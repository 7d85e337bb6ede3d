/**
 * JSON that keeps Go's int64/uint64 values exact. Integers beyond 2^53 - 1
 * decode as `bigint`; `bigint` encodes as a JSON integer. The common path
 * (no 16-digit run in the text, no `bigint` in the value) is plain
 * `JSON.parse`/`JSON.stringify`.
 */

// Every unsafe integer has at least 16 digits (2^53 has 16), so text without
// such a run cannot hold one.
const LONG_DIGIT_RUN = /\d{16}/;
const INTEGER_SOURCE = /^-?\d+$/;

interface ReviverContext {
  source?: string;
}

interface JSONWithRaw {
  rawJSON(text: string): unknown;
}

/** Parses JSON text, decoding integers beyond 2^53 - 1 as `bigint`. */
export function parseJSON(text: string): unknown {
  if (!LONG_DIGIT_RUN.test(text)) return JSON.parse(text);
  return JSON.parse(text, reviveBigInt as Parameters<typeof JSON.parse>[1]);
}

function reviveBigInt(_key: string, value: unknown, context?: ReviverContext): unknown {
  if (
    typeof value === "number" && !Number.isSafeInteger(value) &&
    context?.source !== undefined && INTEGER_SOURCE.test(context.source)
  ) {
    return BigInt(context.source);
  }
  return value;
}

/**
 * Encodes a value as JSON text, writing `bigint` as a JSON integer. Returns
 * `"null"` for a value JSON cannot represent at top level (`undefined`).
 */
export function stringifyJSON(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    // JSON.stringify throws TypeError on bigint; only then take the slow path.
    if (!(error instanceof TypeError)) throw error;
    text = JSON.stringify(value, replaceBigInt);
  }
  return text ?? "null";
}

function replaceBigInt(_key: string, value: unknown): unknown {
  return typeof value === "bigint"
    ? (JSON as unknown as JSONWithRaw).rawJSON(value.toString())
    : value;
}

// Structural characters and string delimiters; the regex skips long runs of
// anything else natively, so large string payloads cost little to scan.
const STRUCTURE = /["\\[\]{}]/g;

/**
 * Whether JSON text nests arrays and objects deeper than `maxDepth`. Text
 * shorter than `maxDepth` cannot, and is not scanned.
 */
export function nestsDeeperThan(text: string, maxDepth: number): boolean {
  if (text.length <= maxDepth) return false;
  let depth = 0;
  let inString = false;
  STRUCTURE.lastIndex = 0;
  for (let m = STRUCTURE.exec(text); m !== null; m = STRUCTURE.exec(text)) {
    const c = m[0];
    if (inString) {
      if (c === "\\") STRUCTURE.lastIndex++; // skip the escaped character
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === "[" || c === "{") {
      if (++depth > maxDepth) return true;
    } else if (c === "]" || c === "}") {
      depth--;
    }
  }
  return false;
}

/**
 * The UTF-8 length of a string, computed only as far as needed to compare it
 * with `limit`: true when the encoded text is longer than `limit` bytes.
 */
export function utf8LongerThan(text: string, limit: number): boolean {
  if (text.length > limit) return true; // every UTF-16 unit is at least one byte
  if (text.length * 3 <= limit) return false; // and at most three
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      bytes += 4; // a surrogate pair is one 4-byte code point
      i++;
    } else bytes += 3;
    if (bytes > limit) return true;
  }
  return false;
}
