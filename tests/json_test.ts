import assert from "node:assert/strict";
import { nestsDeeperThan, parseJSON, stringifyJSON, utf8LongerThan } from "../lib/_json.ts";

Deno.test("parseJSON() decodes integers beyond 2^53 - 1 losslessly as bigint", () => {
  const table: [string, unknown][] = [
    ["9007199254740991", 9007199254740991], // 2^53 - 1 stays a number
    ["9007199254740993", 9007199254740993n],
    ["-9223372036854775808", -9223372036854775808n], // int64 min
    ["18446744073709551615", 18446744073709551615n], // uint64 max
    ['{"h":18446744073709551615,"n":1}', { h: 18446744073709551615n, n: 1 }],
    ["[1.2345678901234567, 12345678901234567890]", [1.2345678901234567, 12345678901234567890n]],
    ['"12345678901234567890"', "12345678901234567890"], // digits in a string stay a string
    ["1e300", 1e300], // not an integer literal: stays a number
  ];
  for (const [text, expected] of table) assert.deepEqual(parseJSON(text), expected, text);
});

Deno.test("stringifyJSON() writes bigint as a JSON integer and round-trips", () => {
  const value = { h: 18446744073709551615n, small: 3n, list: [-(2n ** 63n)], s: "x" };
  const text = stringifyJSON(value);
  assert.equal(
    text,
    '{"h":18446744073709551615,"small":3,"list":[-9223372036854775808],"s":"x"}',
  );
  assert.deepEqual(parseJSON(text), { ...value, small: 3 });
  assert.equal(stringifyJSON(undefined), "null");
  assert.equal(stringifyJSON({ a: 1 }), '{"a":1}');
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => stringifyJSON(cyclic), TypeError);
});

Deno.test("nestsDeeperThan() counts nesting outside strings only", () => {
  const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
  assert.equal(nestsDeeperThan(deep(64), 64), false, "exactly at the limit");
  assert.equal(nestsDeeperThan(deep(65), 64), true, "one over");
  assert.equal(nestsDeeperThan(`{"a":${deep(3)}}`, 3), true);
  assert.equal(nestsDeeperThan(JSON.stringify({ s: "[".repeat(1000) }), 4), false, "in a string");
  assert.equal(nestsDeeperThan(JSON.stringify({ s: '\\"[[[[[[' }) + "[[]]", 2), false);
  assert.equal(nestsDeeperThan(JSON.stringify(["\\", "[[[[[["]), 2), false, "escaped backslash");
});

Deno.test("utf8LongerThan() measures UTF-8 bytes just under and over a limit", () => {
  const table: [string, number, boolean][] = [
    ["a".repeat(10), 10, false],
    ["a".repeat(11), 10, true],
    ["é".repeat(5), 10, false], // 2 bytes each
    ["é".repeat(5) + "a", 10, true],
    ["€".repeat(3), 9, false], // 3 bytes each
    ["€".repeat(3), 8, true],
    ["😀".repeat(2), 8, false], // a surrogate pair is 4 bytes
    ["😀".repeat(2), 7, true],
    // Between limit / 3 and limit UTF-16 units: measured (ASCII by the fast path).
    ["a".repeat(150_000), 200_000, false],
    ["a".repeat(150_002) + "€".repeat(16_666), 200_000, false], // 200,000 bytes
    ["a".repeat(150_003) + "€".repeat(16_666), 200_000, true],
    ["€" + "a".repeat(199_998), 200_000, true], // the multibyte character comes first
  ];
  for (const [text, limit, expected] of table) {
    assert.equal(utf8LongerThan(text, limit), expected, `${text.slice(0, 20)}… vs ${limit}`);
    assert.equal(new TextEncoder().encode(text).length > limit, expected);
  }
});

Deno.test("parseJSON() finds an integer past 2^53 at any depth (recursive walk, then iterative)", () => {
  for (const depth of [1, 63, 64, 65, 500]) {
    const text = "[".repeat(depth) + "9007199254740993" + "]".repeat(depth);
    let value = parseJSON(text);
    for (let i = 0; i < depth; i++) value = (value as unknown[])[0];
    assert.equal(value, 9007199254740993n, `depth ${depth}`);
    const safe = "[".repeat(depth) + "9007199254740991" + "]".repeat(depth);
    let plain = parseJSON(safe);
    for (let i = 0; i < depth; i++) plain = (plain as unknown[])[0];
    assert.equal(plain, 9007199254740991, `depth ${depth}, safe`);
  }
  // Deep objects too, with the unsafe integer in the last key.
  const object = '{"a":'.repeat(100) + '{"x":1,"y":18446744073709551615}' + "}".repeat(100);
  let node = parseJSON(object) as Record<string, unknown>;
  for (let i = 0; i < 100; i++) node = node.a as Record<string, unknown>;
  assert.equal(node.y, 18446744073709551615n);
});
