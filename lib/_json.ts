/**
 * JSON that keeps Go's int64/uint64 values exact. Integers beyond 2^53 - 1
 * decode as `bigint`; `bigint` encodes as a JSON integer. The common path
 * (no number beyond 2^53 - 1 in the document, no `bigint` in the value) is
 * plain `JSON.parse`/`JSON.stringify`.
 */

const INTEGER_SOURCE = /^-?\d+$/;

interface ReviverContext {
  source?: string;
}

interface JSONWithRaw {
  rawJSON(text: string): unknown;
}

/** Parses JSON text, decoding integers beyond 2^53 - 1 as `bigint`. */
export function parseJSON(text: string): unknown {
  // Parse plainly, then look for a number JSON.parse may have rounded: a walk
  // over the decoded values costs far less than scanning the text (64 KiB of
  // string payload is one value). Only then parse again with the reviver.
  const value = JSON.parse(text);
  if (!holdsUnsafeInteger(value)) return value;
  return JSON.parse(text, reviveBigInt as Parameters<typeof JSON.parse>[1]);
}

/**
 * A number beyond 2^53 - 1 in magnitude: what a long integer literal parses
 * to. Every double that large is an integer, so no `Number.isInteger` check
 * (`Infinity`, from `1e400`, passes too: the reviver keeps it, as it is not
 * an integer literal).
 */
function isUnsafeInteger(value: unknown): boolean {
  return typeof value === "number" &&
    (value > Number.MAX_SAFE_INTEGER || value < -Number.MAX_SAFE_INTEGER);
}

/** How deep `holdsUnsafeInteger` recurses before it hands the rest to the iterative walk. */
const RECURSION_LIMIT = 64;

/**
 * Whether a decoded JSON value holds an unsafe integer anywhere. Recursive
 * (no allocation) for the first levels, which is every message the frame
 * layer lets through at the default `maxDepth`; deeper, an iterative walk
 * (no recursion limit).
 */
function holdsUnsafeInteger(value: unknown, depth = 0): boolean {
  if (typeof value !== "object" || value === null) return isUnsafeInteger(value);
  if (depth >= RECURSION_LIMIT) return holdsUnsafeIntegerIteratively(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (holdsUnsafeInteger(value[i], depth + 1)) return true;
    }
    return false;
  }
  for (const key in value) {
    if (holdsUnsafeInteger((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}

function holdsUnsafeIntegerIteratively(root: object): boolean {
  const stack: object[] = [root];
  while (stack.length > 0) {
    const node = stack.pop() as Record<string, unknown> | unknown[];
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const v = node[i];
        if (typeof v === "object") {
          if (v !== null) stack.push(v);
        } else if (isUnsafeInteger(v)) return true;
      }
    } else {
      for (const key in node) {
        const v = node[key];
        if (typeof v === "object") {
          if (v !== null) stack.push(v);
        } else if (isUnsafeInteger(v)) return true;
      }
    }
  }
  return false;
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

/** A `JSON.stringify` replacer that writes `bigint` as a JSON integer. */
export function replaceBigInt(_key: string, value: unknown): unknown {
  return typeof value === "bigint"
    ? (JSON as unknown as JSONWithRaw).rawJSON(value.toString())
    : value;
}

// Structural characters and string delimiters, for skipping long runs of
// anything else natively.
const STRUCTURE = /["\\[\]{}]/g;

/**
 * Whether JSON text nests arrays and objects deeper than `maxDepth`. Text
 * shorter than `2 * (maxDepth + 1)` cannot be valid JSON that deep, and is not scanned.
 */
export function nestsDeeperThan(text: string, maxDepth: number): boolean {
  // JSON nested deeper than maxDepth opens and closes maxDepth + 1 brackets;
  // shorter text is either shallower or not JSON (which the parser refuses).
  if (text.length < 2 * (maxDepth + 1)) return false;
  if (text.length <= SHORT_TEXT) return nestsDeeperShort(text, maxDepth);
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) { // `"`
      i = afterString(text, i + 1);
      if (i === -1) return false; // unterminated: not JSON, which the parser refuses
    } else if (c === 0x5b || c === 0x7b) { // `[` `{`
      if (++depth > maxDepth) return true;
      i++;
    } else if (c === 0x5d || c === 0x7d) { // `]` `}`
      depth--;
      i++;
    } else if (c > 0x2f) { // a digit or letter: a number or literal
      i = nextStructure(text, i + 1);
    } else i++; // `,` `:` `-` `.` `+` or white space
  }
  return false;
}

// Short strings and scalars (keys, numbers) are stepped through: a native
// search per key would cost more than it skips. Past these lengths, the
// rest is searched natively, so that large payloads cost little to scan
// (a 1 MiB string: some 40 µs) and dense objects no more than a loop.
const STEP_STRING = 24;
const STEP_SCALAR = 16;

/** The index after the quote that ends the string whose text starts at `from`, or -1. */
function afterString(text: string, from: number): number {
  const stop = Math.min(from + STEP_STRING, text.length);
  let j = from;
  let c = 0;
  while (j < stop && (c = text.charCodeAt(j)) !== 0x22) j += c === 0x5c ? 2 : 1;
  if (j < stop) return j + 1;
  // Long: search for the quote; it is escaped when an odd run of backslashes comes before it.
  let quote = text.indexOf('"', from);
  while (quote !== -1) {
    let backslashes = 0;
    while (quote - backslashes > from && text.charCodeAt(quote - backslashes - 1) === 0x5c) {
      backslashes++;
    }
    if (backslashes % 2 === 0) return quote + 1;
    quote = text.indexOf('"', quote + 1);
  }
  return -1;
}

/** The index of the next `"`, `[`, `]`, `{` or `}` (or `\\`) from `from`, or the text's length. */
function nextStructure(text: string, from: number): number {
  const stop = Math.min(from + STEP_SCALAR, text.length);
  for (let j = from; j < stop; j++) {
    const c = text.charCodeAt(j);
    if (c === 0x22 || c === 0x5b || c === 0x5d || c === 0x7b || c === 0x7d) return j;
  }
  STRUCTURE.lastIndex = stop;
  // `test` rather than `exec`: no match array.
  return STRUCTURE.test(text) ? STRUCTURE.lastIndex - 1 : text.length;
}

// Up to this length the plain character loop is used: on short messages it
// is as fast as the long scan or a little faster (0.7 and 1.9 µs against 0.7
// and 2.2 for 460 and 1,320 characters of objects on Deno), as no string or
// scalar there is long enough for a native search to pay off.
const SHORT_TEXT = 2048;

function nestsDeeperShort(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // `\`: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

const NON_ASCII = /[\u0080-\uffff]/;

/**
 * The UTF-8 length of a string, computed only as far as needed to compare it
 * with `limit`: true when the encoded text is longer than `limit` bytes.
 */
export function utf8LongerThan(text: string, limit: number): boolean {
  if (text.length > limit) return true; // every UTF-16 unit is at least one byte
  if (text.length * 3 <= limit) return false; // and at most three
  // ASCII only (the native regex scan is some 40 times faster than the loop): one byte each.
  if (!NON_ASCII.test(text)) return false;
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
