/** The flag layer, as pure functions: parsing by the declarations, the help lines, value parsers. */
import assert from "node:assert/strict";
import { CliError } from "../../lib/cli/_errors.ts";
import {
  flagHelp,
  parseCount,
  parseDuration,
  parseFlags,
  parseHeaders,
  parseSize,
} from "../../lib/cli/_flags.ts";

const FLAGS = {
  count: { type: "string", short: "c", value: "N", help: "stop after N" },
  header: { type: "string", short: "H", multiple: true, value: "K:V", help: "a header\nmore" },
  verbose: { type: "boolean", short: "v", help: "talk" },
} as const;

/** The usage error `fn` throws: its message, or "ok" when it throws none. */
function usageOf(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (error) {
    assert.ok(error instanceof CliError);
    assert.equal(error.exitCode, 2);
    assert.equal(error.command, "test");
    return error.message;
  }
}

Deno.test("parseFlags reads values, repeats, inline values and positionals", () => {
  const parsed = parseFlags("test", FLAGS, [
    "a",
    "-c5",
    "-H",
    "x: 1",
    "--header=y:2",
    "-",
    "-v",
    "--",
    "-1",
    "--verbose",
  ]);
  assert.deepEqual(parsed.flags, { count: "5", header: ["x: 1", "y:2"], verbose: true });
  assert.deepEqual(parsed.positionals, ["a", "-", "-1", "--verbose"]);
  // A string flag takes the next argument, whatever it looks like.
  assert.deepEqual(parseFlags("test", FLAGS, ["--count", "-v"]).flags, { count: "-v" });
  assert.deepEqual(parseFlags("test", FLAGS, ["--count="]).flags, { count: "" });
});

Deno.test("parseFlags refuses with one clear message", () => {
  const cases: [string[], string][] = [
    [["--nope"], 'unknown flag "--nope"'],
    [["--nope=1"], 'unknown flag "--nope"'],
    [["-x"], 'unknown flag "-x"'],
    [["-xv"], 'unknown flag "-x"'],
    [["--constructor"], 'unknown flag "--constructor"'],
    [["--verbose=1"], 'flag "--verbose" takes no value'],
    [["-vc1"], 'flag "--verbose" takes no value'],
    [["--count"], 'flag "--count" needs a value'],
    [["-H"], 'flag "--header" needs a value'],
  ];
  for (const [args, message] of cases) {
    assert.equal(usageOf(() => parseFlags("test", FLAGS, args)), message, args.join(" "));
  }
});

Deno.test("flagHelp aligns descriptions at column 25, continuation lines too", () => {
  assert.equal(
    flagHelp(FLAGS),
    [
      "  -c, --count N          stop after N",
      "  -H, --header K:V       a header",
      "                         more",
      "  -v, --verbose          talk",
    ].join("\n"),
  );
  assert.equal(
    flagHelp({ "allow-host": { type: "string", value: "NAME", help: "h" } }),
    "      --allow-host NAME  h",
  );
});

Deno.test("durations, sizes, counts and headers", () => {
  assert.equal(parseDuration("500ms", "t", "test"), 500);
  assert.equal(parseDuration("1.5", "t", "test"), 1500);
  assert.equal(parseDuration("2m", "t", "test"), 120_000);
  assert.equal(parseDuration("0.0001s", "t", "test"), 1);
  for (const bad of ["0", "1h", "-1s", "soon", ""]) {
    assert.equal(
      usageOf(() => parseDuration(bad, "t", "test")),
      `invalid duration for --t: ${JSON.stringify(bad)}`,
    );
  }
  assert.equal(parseSize("512KiB", "s", "test"), 512 * 1024);
  assert.equal(parseSize("16mb", "s", "test"), 16 * 1024 * 1024);
  assert.equal(parseSize("1000000", "s", "test"), 1_000_000);
  assert.match(usageOf(() => parseSize("1GiB", "s", "test")), /^invalid size for --s/);
  assert.equal(parseCount(undefined, "n", "test"), undefined);
  assert.equal(parseCount("3", "n", "test"), 3);
  assert.match(usageOf(() => parseCount("9007199254740993", "n", "test")), /positive integer/);
  assert.deepEqual(parseHeaders(["A: b: c", "X-Y:"], "test"), { A: "b: c", "X-Y": "" });
  assert.equal(
    usageOf(() => parseHeaders(["bad name: 1"], "test")),
    'invalid --header "bad name: 1": expected NAME:VALUE',
  );
});
