// The fast paths added for `deno task bench` (bench/): the nesting scan has a
// character loop for short text, and for long text steps through short
// strings and scalars and searches natively past them (indexOf, a regex);
// all must agree with a reference scan, on both sides of every switch.
import assert from "node:assert/strict";
import { nestsDeeperThan, parseJSON } from "../lib/_json.ts";

function reference(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "[" || c === "{") {
      if (++depth > maxDepth) return true;
    } else if (c === "]" || c === "}") depth--;
  }
  return false;
}

Deno.test("nestsDeeperThan() agrees with a reference scan for short and long text", () => {
  const pieces = [
    ...["[", "]", "{", "}", '"', "\\", "a", ":", ",", '\\"', "[[", "]]", "x".repeat(700)],
    // Around the lengths where the long scan stops stepping and searches.
    ...["1234567890".repeat(2), "true", "\\\\", "y".repeat(23), "z".repeat(25), '"k":'],
  ];
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let longSeen = 0, shortSeen = 0, deepSeen = 0;
  for (let n = 0; n < 800; n++) {
    let text = "";
    const target = Math.floor(random() * 5000);
    while (text.length < target) text += pieces[Math.floor(random() * pieces.length)];
    for (const maxDepth of [1, 3, 64]) {
      // Text too short to be valid JSON that deep is not scanned (the parser refuses it).
      const expected = text.length >= 2 * (maxDepth + 1) && reference(text, maxDepth);
      assert.equal(
        nestsDeeperThan(text, maxDepth),
        expected,
        `length ${text.length}, max ${maxDepth}`,
      );
      if (expected) deepSeen++;
    }
    if (text.length > 2048) longSeen++;
    else shortSeen++;
  }
  assert.ok(
    longSeen > 50 && shortSeen > 50 && deepSeen > 50,
    "both paths and both answers exercised",
  );
});

Deno.test("nestsDeeperThan() long text: deep after a long string, and escapes at the end", () => {
  const pad = JSON.stringify("x".repeat(3000));
  assert.equal(nestsDeeperThan(`[${pad},${"[".repeat(10)}${"]".repeat(10)}]`, 10), true);
  assert.equal(nestsDeeperThan(`[${pad},${"[".repeat(9)}${"]".repeat(9)}]`, 10), false);
  assert.equal(nestsDeeperThan(`${pad.slice(0, -1)}\\`, 2), false, "a trailing backslash");
  // The regex's position is reset between calls, deep or not.
  assert.equal(nestsDeeperThan(`[[[${pad}]]]`, 2), true);
  assert.equal(nestsDeeperThan(`[${pad}]`, 2), false);
});

Deno.test("parseJSON() decodes unsafe integers as bigint wherever they are, and nothing else", () => {
  const big = "9223372036854775809";
  assert.equal(parseJSON(big), 9223372036854775809n, "top level");
  assert.deepEqual(parseJSON(`{"a":[1,{"b":[${big}]}],"c":"x"}`), {
    a: [1, { b: [9223372036854775809n] }],
    c: "x",
  });
  assert.deepEqual(parseJSON(`[-${big}, 9007199254740991, 9007199254740992]`), [
    -9223372036854775809n,
    9007199254740991,
    9007199254740992n,
  ]);
  // Long digit runs that are not unsafe integers stay as they are.
  const hash = "0000000000000000000a2b3c4d5e6f70000000000000000000000000000000000";
  assert.deepEqual(parseJSON(`{"hash":"${hash}","n":1e300,"f":12345678901234567.5}`), {
    hash,
    n: 1e300,
    f: 12345678901234567.5,
  });
  // Depth needs no recursion: a deep document decodes.
  const deep = "[".repeat(1000) + big + "]".repeat(1000);
  let v = parseJSON(deep);
  for (let i = 0; i < 1000; i++) v = (v as unknown[])[0];
  assert.equal(v, 9223372036854775809n);
  assert.throws(() => parseJSON("{"), SyntaxError);
});

Deno.test("nestsDeeperThan() finds every valid JSON document nested past the limit", () => {
  for (const maxDepth of [1, 2, 8, 64]) {
    for (let depth = 1; depth <= maxDepth + 3; depth++) {
      for (
        const [open, close, inner] of [["[", "]", ""], ["[", "]", "1"], ['{"a":', "}", "null"]]
      ) {
        const text = open!.repeat(depth) + inner + close!.repeat(depth);
        JSON.parse(text); // valid
        assert.equal(nestsDeeperThan(text, maxDepth), depth > maxDepth, `${text} vs ${maxDepth}`);
      }
    }
  }
});
