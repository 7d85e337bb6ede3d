import assert from "node:assert/strict";
import { safeLines, safeText, UNSAFE_TEXT } from "../lib/_safe_text.ts";

Deno.test("safeText() escapes what could drive a terminal or forge a log line", async (t) => {
  const cases: [name: string, input: string, expected: string][] = [
    ["plain text", "hello, world", "hello, world"],
    ["empty", "", ""],
    ["non-ASCII letters and emoji", "héllo 世界 😀", "héllo 世界 😀"],
    ["a backslash stays", String.raw`a\u001bb`, String.raw`a\u001bb`],
    ["tab", "a\tb", String.raw`a\u0009b`],
    ["NUL", "a\0b", String.raw`a\u0000b`],
    [
      "OSC title and clear screen",
      "A\u001b]0;PWNED\u0007B\u001b[2J",
      String.raw`A\u001b]0;PWNED\u0007B\u001b[2J`,
    ],
    ["CR and LF", "a\r\nb", String.raw`a\u000d\u000ab`],
    ["DEL", "a\u007fb", String.raw`a\u007fb`],
    ["C1 CSI and NEL", "a\u009b2J\u0085b", String.raw`a\u009b2J\u0085b`],
    ["just past C1", "a\u00a0b", "a\u00a0b"],
    ["arabic letter mark", "a\u061cb", String.raw`a\u061cb`],
    ["LRM and RLM", "\u200e\u200f", String.raw`\u200e\u200f`],
    ["zero-width joiner stays", "a\u200db", "a\u200db"],
    [
      "embeddings and overrides",
      "\u202a\u202b\u202c\u202d\u202e",
      String.raw`\u202a\u202b\u202c\u202d\u202e`,
    ],
    ["isolates", "\u2066\u2067\u2068\u2069", String.raw`\u2066\u2067\u2068\u2069`],
    ["line and paragraph separators", "a\u2028b\u2029c", String.raw`a\u2028b\u2029c`],
    ["lone surrogates", "a\ud800b\udfffc", String.raw`a\ud800b\udfffc`],
    ["a surrogate pair stays", "\ud83d\ude00", "\ud83d\ude00"],
  ];
  for (const [name, input, expected] of cases) {
    await t.step(name, () => {
      assert.equal(safeText(input), expected);
      assert.equal(UNSAFE_TEXT.test(input), input !== expected);
    });
  }
});

Deno.test("safeText() keeps JSON text valid and equal in value", () => {
  const value = { message: "x\u001b[31m\u202e\u2028\u0085\ud800" };
  const text = safeText(JSON.stringify(value));
  assert.ok(!UNSAFE_TEXT.test(text));
  assert.deepEqual(JSON.parse(text), value);
});

Deno.test("safeLines() keeps the text's own line breaks and escapes the rest", () => {
  assert.equal(
    safeLines("one\ntwo\u001b\rthree"),
    String.raw`one` + "\n" + String.raw`two\u001b\u000dthree`,
  );
});
