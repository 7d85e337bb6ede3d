/**
 * Peer-supplied text made safe to show on a terminal or in a log line.
 *
 * A server's error message, close reason or frame, or a client's `userAgent`,
 * could otherwise drive the terminal (`ESC ] 0 ; title BEL`, `ESC [ 2 J`),
 * start a fake log line (CR, LF, U+2028, U+2029) or reorder what a reader
 * sees (the Unicode bidi controls, UAX #9). Such characters are written as
 * visible JSON-style escapes (`\u001b`), so a JSON text stays valid JSON with
 * the same value. Backslashes are left alone.
 */

/**
 * The characters that are never shown as they are: C0 and C1 controls and DEL
 * (`\p{Cc}`), lone surrogates (`\p{Cs}`, which encoders turn into U+FFFD),
 * the bidi marks, embeddings, overrides and isolates (U+061C, U+200E, U+200F,
 * U+202A-U+202E, U+2066-U+2069) and the line and paragraph separators
 * (U+2028, U+2029).
 */
export const UNSAFE_TEXT: RegExp =
  /[\p{Cc}\p{Cs}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/u;

const UNSAFE_GLOBAL = new RegExp(UNSAFE_TEXT.source, "gu");

/** `text` with every {@linkcode UNSAFE_TEXT} character written as `\uXXXX`. */
export function safeText(text: string): string {
  return UNSAFE_TEXT.test(text) ? text.replace(UNSAFE_GLOBAL, escape) : text;
}

/** As {@linkcode safeText} line by line: the line breaks of `text` itself are kept. */
export function safeLines(text: string): string {
  return text.split("\n").map(safeText).join("\n");
}

function escape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}
