/** `wsrpc` itself, in-process: dispatch, help, --version, usage errors (exit 2, one line). */
import assert from "node:assert/strict";
import { assertExit, wsrpc } from "./_fake_io.ts";

Deno.test("wsrpc --help documents every command and the exit codes", async () => {
  for (const command of ["call", "listen", "ping", "serve", "keygen"]) {
    for (const args of [[command, "--help"], [command, "-h"], ["help", command]]) {
      const r = await wsrpc(args);
      assertExit(r, 0);
      assert.ok(r.stdout.startsWith(`wsrpc ${command}: `), r.stdout);
      assert.match(r.stdout, new RegExp(`Usage: wsrpc ${command}`));
      assert.match(r.stdout, /Exit codes/);
      assert.ok(r.stdout.split("\n").includes("  -h, --help             show this help"));
    }
  }
  const main = await wsrpc(["--help"]);
  assertExit(main, 0);
  for (const line of ["0  success", "2  usage error", "3  cannot connect", "4  handshake failed"]) {
    assert.ok(main.stdout.includes(line), line);
  }
  for (const args of [["help"], ["help", "main"], ["-h"]]) {
    assert.equal((await wsrpc(args)).stdout, main.stdout, args.join(" "));
  }
  const bare = await wsrpc([]);
  assertExit(bare, 2);
  assert.match(bare.stderr, /Usage:/);
  assert.equal(bare.stdout, "");
  const version = await wsrpc(["--version"]);
  assertExit(version, 0);
  assert.match(version.stdout, /^wsrpc \d+\.\d+\.\d+/);
  assert.equal((await wsrpc(["-V"])).stdout, version.stdout);
});

Deno.test("the help lists each declared flag once, aligned, with its value name", async () => {
  const call = (await wsrpc(["call", "--help"])).stdout;
  assert.ok(
    call.includes(
      "Output flags:\n" +
        "      --pretty           indent the output even when piped\n" +
        "      --compact          one line even on a terminal\n\nConnection flags:\n",
    ),
    call,
  );
  assert.ok(
    call.includes(
      "      --server-key KEY   the server public key to expect (hex, or a file holding it);\n" +
        "                         without --key, an ephemeral client key is made\n",
    ),
  );
  const lines = (text: string) => text.split("\n");
  assert.ok(
    lines(call).includes(
      "  -H, --header K:V       add a header to the upgrade request (repeatable)",
    ),
  );
  const serve = (await wsrpc(["serve", "--help"])).stdout;
  assert.ok(serve.includes("\n      --allow-host NAME  a host name clients may use in Host"));
  assert.ok(lines(serve).includes("  -v, --verbose          log every request on stderr"));
  assert.match(serve, /^Exit codes: 0 after a graceful shutdown/m);
});

Deno.test("wsrpc usage errors exit 2 with one line that points to the help", async () => {
  const cases: [string[], RegExp][] = [
    [["call", "ws://127.0.0.1:1/"], /missing arguments: expected URL COMMAND \[PAYLOAD\]/],
    [["call", "ws://x/", "a", "1", "extra"], /unexpected argument "extra"/],
    [["call", "--bogus"], /unknown flag "--bogus" \(see "wsrpc call --help"\)/],
    [["call", "ws://x/", "a", "-1"], /unknown flag "-1" \(see "wsrpc call --help"\)/],
    [["call", "ws://x/", "a", "--pretty=yes"], /flag "--pretty" takes no value/],
    [["call", "ws://x/", "a", "-vh"], /flag "--verbose" takes no value/],
    [["call", "ws://x/", ""], /COMMAND is empty/],
    [["ping", "ws://x/", "--count", "0"], /invalid --count: expected a positive integer/],
    [["ping", "ws://x/", "--count"], /flag "--count" needs a value/],
    [["ping", "ws://x/", "-i", "0s"], /invalid duration for --interval: "0s"/],
    [["listen", "ws://x/", "--timeout", "soon"], /invalid duration for --timeout/],
    [["listen", "ws://x/", "-n", "1.5"], /invalid --count: expected a positive integer/],
    [["call", "ws://x/", "a", "--read-limit", "0"], /invalid size for --read-limit: "0"/],
    [["serve", "--port", "70000"], /invalid --port "70000"/],
    [["serve", "extra"], /unexpected argument "extra" \(see "wsrpc serve --help"\)/],
    [["keygen", "-x"], /unknown flag "-x" \(see "wsrpc keygen --help"\)/],
    [["frobnicate"], /unknown command "frobnicate" \(see "wsrpc --help"\)/],
    [["help", "frobnicate"], /unknown command "frobnicate"/],
    [["call", "ws://127.0.0.1:1/", "a", "--key", "/nonexistent/key"], /cannot read key file/],
    [["serve", "--allow", "/nonexistent/keys"], /cannot read --allow file/],
  ];
  for (const [args, message] of cases) {
    const r = await wsrpc(args);
    assertExit(r, 2);
    assert.match(r.stderr, /^wsrpc: /, args.join(" "));
    assert.match(r.stderr, message, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, args.join(" "));
    assert.equal(r.stdout, "", args.join(" "));
  }
});
