/**
 * Object keys matched the way Go's `encoding/json` matches them to struct
 * fields: an exact match, else a case-insensitive one under Go's folding
 * (ASCII letters in either case; the Kelvin sign U+212A folds to "k" and the
 * long s U+017F to "s", nothing else folds to ASCII). Used only on the slow
 * path of `decodeMessage`, when an exact key is missing.
 */

const KELVIN_SIGN = 0x212a;
const LONG_S = 0x17f;

/**
 * Whether Go would decode `key` into the field `name` (lower-case ASCII).
 *
 * Go 1.19's `equalFold` and later versions' `foldName` agree for ASCII names.
 */
export function goKeyMatches(key: string, name: string): boolean {
  // Every rune that folds to an ASCII letter is one UTF-16 unit.
  if (key.length !== name.length) return false;
  for (let i = 0; i < key.length; i++) {
    const k = key.charCodeAt(i);
    const n = name.charCodeAt(i);
    if (k === n) continue;
    const isLetter = n >= 0x61 && n <= 0x7a;
    if (isLetter && k === n - 0x20) continue;
    if (k === KELVIN_SIGN && n === 0x6b) continue;
    if (k === LONG_S && n === 0x73) continue;
    return false;
  }
  return true;
}

/** A message as Go decodes it: `header` is the merged header, or the value Go refuses. */
export interface GoMessage {
  header?: unknown;
  payload?: unknown;
}

/**
 * `message` as Go's `encoding/json` decodes it into hemi's `Message` struct,
 * with the exact keys; `undefined` when it has no key that matches a field
 * only case-insensitively (then Go reads what the exact keys say).
 *
 * Every key matching `header` is decoded, in document order, into the same
 * struct, so their `command` and `id` merge, the last one winning; `null`
 * leaves a field as it was; a value of the wrong type is an error in Go (it
 * is kept, so the caller refuses it). The last key matching `payload` wins,
 * `null` included (a `json.RawMessage`).
 */
export function goMessage(message: object): GoMessage | undefined {
  if (!hasInexactKey(message)) return undefined;
  const result: GoMessage = {};
  let header: { command?: unknown; id?: unknown } | undefined;
  for (const key in message) {
    const value = (message as Record<string, unknown>)[key];
    if (goKeyMatches(key, "payload")) {
      result.payload = value;
      continue;
    }
    if (!goKeyMatches(key, "header") || value === null || result.header !== header) continue;
    if (typeof value !== "object" || Array.isArray(value)) {
      result.header = value; // a type error in Go: refused
      continue;
    }
    header ??= {};
    for (const field in value) {
      const v = (value as Record<string, unknown>)[field];
      const name = goKeyMatches(field, "command")
        ? "command"
        : goKeyMatches(field, "id")
        ? "id"
        : "";
      if (name === "" || v === null || isWrongType(header[name])) continue;
      header[name] = v;
    }
    result.header = header;
  }
  return result;
}

function isWrongType(value: unknown): boolean {
  return value !== undefined && typeof value !== "string";
}

/** Whether a key of `message`, or of an object under a key matching `header`, matches a field only case-insensitively. */
function hasInexactKey(message: object): boolean {
  for (const key in message) {
    if (key === "payload") continue;
    const value = (message as Record<string, unknown>)[key];
    if (key !== "header") {
      if (goKeyMatches(key, "payload") || goKeyMatches(key, "header")) return true;
      continue;
    }
    if (value === null || typeof value !== "object") continue;
    for (const field in value) {
      if (field === "command" || field === "id") continue;
      if (goKeyMatches(field, "command") || goKeyMatches(field, "id")) return true;
    }
  }
  return false;
}
