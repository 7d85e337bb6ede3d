/** `wsrpc call`, in-process against an in-process `wsrpc serve`: output, payloads, exit codes. */
import assert from "node:assert/strict";
import { assertExit, serve, wsrpc } from "./_fake_io.ts";

Deno.test("wsrpc call against an in-process `wsrpc serve`", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "wsrpc_cli_" });
  const server = await serve();
  const { url } = server;
  try {
    await t.step("serve prints the ws URL as its first line", () => {
      assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+\/v1\/ws$/);
      assert.notEqual(new URL(url).port, "0");
    });

    await t.step("call prints the response payload on one line when piped", async () => {
      const r = await wsrpc(["call", url, "demo-echo-request", '{"hello":"world","n":[1,2]}']);
      assertExit(r, 0);
      assert.equal(r.stdout, '{"hello":"world","n":[1,2]}\n');
      assert.equal(r.stderr, "");
    });

    await t.step("call --pretty indents the output", async () => {
      const r = await wsrpc(["call", url, "demo-echo-request", '{"a":{"b":1}}', "--pretty"]);
      assertExit(r, 0);
      assert.equal(r.stdout, '{\n  "a": {\n    "b": 1\n  }\n}\n');
    });

    await t.step("call indents on a terminal, and --compact does not", async () => {
      const onTerminal = await wsrpc(["call", url, "demo-echo-request", "[1]"], { terminal: true });
      assertExit(onTerminal, 0);
      assert.equal(onTerminal.stdout, "[\n  1\n]\n");
      const compact = await wsrpc(["call", url, "demo-echo-request", "[1]", "--compact"], {
        terminal: true,
      });
      assert.equal(compact.stdout, "[1]\n");
    });

    await t.step("call keeps integers beyond 2^53 exact", async () => {
      const r = await wsrpc([
        "call",
        url,
        "demo-echo-request",
        '{"n":18446744073709551615,"m":-9223372036854775808,"f":1.5}',
      ]);
      assertExit(r, 0);
      assert.equal(r.stdout, '{"n":18446744073709551615,"m":-9223372036854775808,"f":1.5}\n');
      const pretty = await wsrpc(["call", url, "demo-echo-request", "[18446744073709551615]"], {
        terminal: true,
      });
      assert.equal(pretty.stdout, "[\n  18446744073709551615\n]\n");
    });

    await t.step("call reads the payload from @file", async () => {
      const file = `${dir}/payload.json`;
      await Deno.writeTextFile(file, '{\n  "from": "file",\n  "big": 12345678901234567890\n}\n');
      const r = await wsrpc(["call", url, "demo-echo-request", `@${file}`]);
      assertExit(r, 0);
      assert.equal(r.stdout, '{"from":"file","big":12345678901234567890}\n');
    });

    await t.step("call reads the payload from stdin with -", async () => {
      const r = await wsrpc(["call", url, "demo-echo-request", "-"], {
        stdin: '{"from":"stdin"}',
      });
      assertExit(r, 0);
      assert.equal(r.stdout, '{"from":"stdin"}\n');
    });

    await t.step("call without a payload sends {}, as Go clients do", async () => {
      const r = await wsrpc(["call", url, "demo-echo-request"]);
      assertExit(r, 0);
      assert.equal(r.stdout, "{}\n");
    });

    await t.step("call with an explicit null payload sends null", async () => {
      const r = await wsrpc(["call", url, "demo-echo-request", "null"]);
      assertExit(r, 0);
      assert.equal(r.stdout, "null\n");
    });

    await t.step("call takes a payload that starts with - after --", async () => {
      const r = await wsrpc(["call", url, "demo-echo-request", "--", "-1"]);
      assertExit(r, 0);
      assert.equal(r.stdout, "-1\n");
    });

    await t.step("call exits 1 with the error's text when the payload carries error", async () => {
      const r = await wsrpc(["call", url, "demo-fail-request", "{}"]);
      assertExit(r, 1);
      assert.equal(r.stderr, "wsrpc: demo failure, as requested\n");
      const printed = JSON.parse(r.stdout);
      assert.equal(printed.error.message, "demo failure, as requested");
    });

    await t.step("call exits 1 when the handler rejects the payload", async () => {
      const r = await wsrpc(["call", url, "demo-notify-request", '{"count":-1}']);
      assertExit(r, 1);
      assert.match(r.stderr, /^wsrpc: count must be an integer from 0 to 10000\n$/);
    });

    await t.step("call exits 1 when the server closes on an unknown command", async () => {
      const r = await wsrpc(["call", url, "nope-request"]);
      assertExit(r, 1);
      assert.match(r.stderr, /nope-request failed: connection closed: 1008 .*unknown command/);
      assert.equal(r.stdout, "");
    });

    await t.step("call --timeout exits 1 when the response is late", async () => {
      const r = await wsrpc([
        "call",
        url,
        "demo-sleep-request",
        '{"ms":5000}',
        "--timeout",
        "200ms",
      ]);
      assertExit(r, 1);
      assert.match(r.stderr, /demo-sleep-request failed: .*timed out after 200 ms/);
    });

    await t.step("call exits 2 on invalid JSON and names the position", async () => {
      const cases: [string, RegExp][] = [
        ['{"a":1,}', /at position 7 \(line 1, column 8\)/],
        ['{"a": tru}', /at position 6 \(line 1, column 7\)/],
        ['{"a":1', /at position 6 \(line 1, column 7\)/],
        ["[1,\n 2,,3]", /at position 7 \(line 2, column 4\)/],
      ];
      for (const [payload, where] of cases) {
        const r = await wsrpc(["call", url, "demo-echo-request", payload]);
        assertExit(r, 2);
        assert.match(r.stderr, /^wsrpc: invalid JSON payload: /);
        assert.match(r.stderr, where, payload);
        assert.equal(r.stderr.trim().split("\n").length, 1, "one line");
      }
      const stdin = await wsrpc(["call", url, "demo-echo-request", "-"], { stdin: "{oops" });
      assertExit(stdin, 2);
      assert.match(stdin.stderr, /invalid JSON payload from stdin: .*at position 1/);
      const file = `${dir}/bad.json`;
      await Deno.writeTextFile(file, '{\n  "a": }');
      const bad = await wsrpc(["call", url, "demo-echo-request", `@${file}`]);
      assertExit(bad, 2);
      assert.match(bad.stderr, /invalid JSON payload in ".*bad\.json": .*\(line 2, column 8\)/);
      const missing = await wsrpc(["call", url, "demo-echo-request", `@${dir}/missing.json`]);
      assertExit(missing, 2);
      assert.match(missing.stderr, /cannot read payload file ".*missing\.json"/);
    });

    await t.step("--verbose prints every frame on stderr", async () => {
      const r = await wsrpc(["call", url, "demo-ping-request", '{"timestamp":7}', "--verbose"]);
      assertExit(r, 0);
      const lines = r.stderr.split("\n");
      const first = lines.find((l) => l.startsWith("< "))!;
      assert.deepEqual(JSON.parse(first.slice(2)).header, {
        command: "demo-ping-request",
        id: "0",
        wsrpc: ["cancel", "describe", "trace"], // wsrpc serve offers its extensions
      });
      assert.ok(
        lines.includes(
          '> {"header":{"command":"demo-ping-request","id":"1"},"payload":{"timestamp":7}}',
        ),
        r.stderr,
      );
      assert.ok(lines.some((l) => l.startsWith('< {"header":{"command":"demo-ping-response"')));
      assert.equal(lines[0], `* connecting to ${url}`);
      assert.ok(lines.includes("* connected"), r.stderr);
      assert.match(r.stdout, /^\{"origintimestamp":7,"timestamp":\d+\}\n$/);
    });
  } finally {
    const { code, stderr } = await server.stop("SIGTERM");
    await Deno.remove(dir, { recursive: true });
    assert.equal(code, 0, stderr);
    assert.match(stderr, /SIGTERM: shutting down/);
    assert.match(stderr, /session \d+ open from 127\.0\.0\.1/);
  }
});
