/**
 * The `wsrpc` command line, end to end: every command runs as a subprocess
 * (`deno run -A lib/cli.ts ...`) against a real server, mostly a
 * `wsrpc serve --port 0` subprocess; output and exit codes are asserted.
 */
import assert from "node:assert/strict";
import { publicKeyFromSecret } from "../lib/ed25519.ts";
import { Server } from "../mod.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import { createHandler } from "../lib/deno.ts";

const CLI = new URL("../lib/cli.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `wsrpc ARGS...` to completion. */
async function wsrpc(
  args: string[],
  options: { stdin?: string; cwd?: string } = {},
): Promise<Result> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    env: { NO_COLOR: "1" },
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** Asserts the exit code, showing the output when it differs. */
function assertExit(result: Result, code: number): void {
  assert.equal(
    result.code,
    code,
    `exit ${result.code}, expected ${code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
  );
}

interface ServeProcess {
  url: string;
  /** Sends `signal`, waits for the exit; returns the exit code and all of stderr. */
  stop(signal?: Deno.Signal): Promise<{ code: number; stderr: string }>;
}

/** Starts `wsrpc serve --port 0 ARGS...` and reads the URL from its first line. */
async function serve(args: string[] = [], cwd?: string): Promise<ServeProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "serve", "--port", "0", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(cwd === undefined ? {} : { cwd }),
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error("wsrpc serve printed no URL in 20 s")), 20_000)
  );
  try {
    while (!out.includes("\n")) {
      const { value, done } = await Promise.race([reader.read(), timeout]);
      if (done) break;
      out += value;
    }
  } catch (error) {
    child.kill("SIGKILL");
    await child.status;
    await stderr;
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const rest = (async () => {
    while (!(await reader.read()).done);
  })();
  const url = out.split("\n")[0]!;
  return {
    url,
    async stop(signal: Deno.Signal = "SIGTERM") {
      child.kill(signal);
      const { code } = await child.status;
      await rest;
      return { code, stderr: await stderr };
    },
  };
}

/** Whether `script` (util-linux) is there to run the CLI on a pseudo-terminal. */
const HAS_SCRIPT = await new Deno.Command("sh", { args: ["-c", "command -v script"] })
  .output().then((o) => o.success, () => false);

Deno.test("wsrpc against a `wsrpc serve` subprocess", async (t) => {
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

    await t.step({
      name: "call indents on a terminal, and --compact does not",
      // Needs a pseudo-terminal tool; without one the step is reported as ignored, not passed.
      ignore: !HAS_SCRIPT,
      fn: async () => {
        const line = [Deno.execPath(), "run", "-A", CLI, "call", url, "demo-echo-request", "[1]"]
          .map((arg) => `'${arg.replaceAll("'", `'\\''`)}'`);
        const onTerminal = async (extra: string) => {
          const o = await new Deno.Command("script", {
            args: ["-qec", `${line.join(" ")} ${extra}`, "/dev/null"],
            stdin: "null",
            stdout: "piped",
            stderr: "piped",
          }).output();
          assert.equal(o.code, 0, decoder.decode(o.stderr));
          return decoder.decode(o.stdout).replaceAll("\r\n", "\n");
        };
        assert.equal(await onTerminal(""), "[\n  1\n]\n");
        assert.equal(await onTerminal("--compact"), "[1]\n");
      },
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
      });
      assert.ok(
        lines.includes(
          '> {"header":{"command":"demo-ping-request","id":"1"},"payload":{"timestamp":7}}',
        ),
        r.stderr,
      );
      assert.ok(lines.some((l) => l.startsWith('< {"header":{"command":"demo-ping-response"')));
      assert.match(r.stdout, /^\{"origintimestamp":7,"timestamp":\d+\}\n$/);
    });

    await t.step("listen --count prints each push as one JSON line", async () => {
      const r = await wsrpc(["listen", url, "demo-notify-request", '{"count":3}', "--count", "3"]);
      assertExit(r, 0);
      const lines = r.stdout.trimEnd().split("\n");
      assert.equal(lines.length, 3);
      assert.deepEqual(
        lines.map((l) => JSON.parse(l)),
        [1, 2, 3].map((seq) => ({
          header: { command: "demo-event-notification" },
          payload: { seq },
        })),
      );
    });

    await t.step("listen exits 1 when the subscription request fails", async () => {
      const r = await wsrpc(["listen", url, "demo-fail-request", "-n", "1"]);
      assertExit(r, 1);
      assert.equal(r.stderr, "wsrpc: demo failure, as requested\n");
      assert.equal(r.stdout, "");
    });

    await t.step("ping --count prints round-trip times and a summary", async () => {
      const r = await wsrpc(["ping", url, "--count", "3", "--interval", "20ms"]);
      assertExit(r, 0);
      const lines = r.stdout.trimEnd().split("\n");
      assert.equal(lines[0], `PING ${url} (demo-ping-request)`);
      for (let seq = 1; seq <= 3; seq++) {
        assert.match(
          lines[seq]!,
          new RegExp(`^reply from 127\\.0\\.0\\.1:\\d+: seq=${seq} time=\\d+\\.\\d{3} ms$`),
        );
      }
      assert.equal(lines[4], `--- ${url} ping statistics ---`);
      assert.match(lines[5]!, /^3 sent, 3 received, 0% loss, time \d+ ms$/);
      assert.match(lines[6]!, /^rtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms$/);
      const [min, avg, max] = lines[6]!.split(" = ")[1]!.split("/").map(Number);
      assert.ok(min! <= avg! && avg! <= max!);
    });

    await t.step("ping --command with an error answer counts a loss and exits 1", async () => {
      const r = await wsrpc([
        "ping",
        url,
        "-c",
        "2",
        "-i",
        "10ms",
        "--command",
        "demo-fail-request",
      ]);
      assertExit(r, 1);
      assert.match(r.stdout, /error from 127\.0\.0\.1:\d+: seq=1 demo failure, as requested/);
      assert.match(r.stdout, /2 sent, 0 received, 100% loss/);
    });
  } finally {
    const { code, stderr } = await server.stop("SIGTERM");
    await Deno.remove(dir, { recursive: true });
    assert.equal(code, 0, stderr);
    assert.match(stderr, /SIGTERM: shutting down/);
    assert.match(stderr, /session \d+ open from 127\.0\.0\.1/);
  }
});

Deno.test("wsrpc serve shuts down gracefully on SIGINT, letting a call finish", async () => {
  const server = await serve();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "call", server.url, "demo-sleep-request", '{"ms":800}', "-v"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = new Response(child.stdout).text();
  // Wait until the request is on the wire, then interrupt the server.
  let stderr = "";
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  while (!stderr.includes('> {"header":{"command":"demo-sleep-request","id":"1"}')) {
    const { value, done } = await reader.read();
    if (done) break;
    stderr += value;
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  const stopped = await server.stop("SIGINT");
  while (!(await reader.read()).done);
  const { code } = await child.status;
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stderr, /SIGINT: shutting down/);
  assert.equal(code, 0, stderr);
  assert.equal(await stdout, '{"ms":800}\n');
});

/** Spawns `wsrpc ARGS...` with its output streamed, for tests that act while it runs. */
function spawnWsrpc(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const readers = {
    stdout: child.stdout.pipeThrough(new TextDecoderStream()).getReader(),
    stderr: child.stderr.pipeThrough(new TextDecoderStream()).getReader(),
  };
  const text = { stdout: "", stderr: "" };
  let stdoutCancelled = false;
  return {
    child,
    text,
    /** Stops reading stdout, as `| head -1` does: the child's next write fails. */
    async cancelStdout() {
      stdoutCancelled = true;
      await readers.stdout.cancel();
    },
    /** Reads `stream` until its text so far satisfies `until`. */
    async waitFor(stream: "stdout" | "stderr", until: (text: string) => boolean) {
      while (!until(text[stream])) {
        const { value, done } = await readers[stream].read();
        if (done) throw new Error(`${stream} ended first: ${text[stream]}`);
        text[stream] += value;
      }
    },
    /** Drains both streams and waits for the exit. */
    async finish(): Promise<Result> {
      const drain = async (stream: "stdout" | "stderr") => {
        for (;;) {
          const { value, done } = await readers[stream].read();
          if (done) return;
          text[stream] += value;
        }
      };
      await Promise.all([stdoutCancelled ? undefined : drain("stdout"), drain("stderr")]);
      const { code } = await child.status;
      return { code, ...text };
    },
  };
}

Deno.test("wsrpc ping without --count runs until SIGINT, then prints the summary", async () => {
  const server = await serve();
  try {
    const ping = spawnWsrpc(["ping", server.url, "--interval", "50ms"]);
    await ping.waitFor("stdout", (t) => t.includes("seq=2 "));
    ping.child.kill("SIGINT");
    const r = await ping.finish();
    assertExit(r, 0);
    assert.match(r.stdout, /^(\d+) sent, \1 received, 0% loss/m);
    assert.match(r.stdout, /^rtt min\/avg\/max\/mdev = /m);
  } finally {
    await server.stop();
  }
});

Deno.test("wsrpc listen without --count exits 0 when the server closes normally", async () => {
  const server = await serve();
  let stopped = false;
  try {
    const listen = spawnWsrpc(["listen", server.url, "demo-notify-request", '{"count":2}', "-v"]);
    await listen.waitFor("stdout", (t) => t.split("\n").length > 2);
    const { code } = await server.stop("SIGTERM");
    stopped = true;
    assert.equal(code, 0);
    const r = await listen.finish();
    assertExit(r, 0);
    assert.equal(r.stdout.trimEnd().split("\n").length, 2);
    assert.match(r.stderr, /\* closed 1001 "server shutting down"/);
  } finally {
    if (!stopped) await server.stop();
  }
});

Deno.test("wsrpc listen stops quietly when its reader goes away", async () => {
  const server = await serve();
  try {
    const listen = spawnWsrpc(["listen", server.url, "demo-notify-request", '{"count":10000}']);
    await listen.waitFor("stdout", (t) => t.includes('"seq":1}'));
    await listen.cancelStdout();
    const r = await listen.finish();
    assertExit(r, 0);
    assert.equal(r.stderr, "");
  } finally {
    await server.stop();
  }
});

Deno.test("wsrpc call --header sends the header on the upgrade request", async () => {
  const server = new Server(demoAPI, { handlers: demoHandlers });
  const seen: (string | null)[] = [];
  const handler = createHandler(server, { path: "/v1/ws" });
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req, info) => {
    seen.push(req.headers.get("x-api-key"));
    return handler(req, info);
  });
  try {
    const url = `ws://127.0.0.1:${http.addr.port}/v1/ws`;
    const r = await wsrpc(["call", url, "demo-echo-request", "1", "-H", "X-Api-Key: s3cret"]);
    assertExit(r, 0);
    assert.equal(r.stdout, "1\n");
    assert.deepEqual(seen, ["s3cret"]);
    const bad = await wsrpc(["call", url, "demo-echo-request", "--header", "no-colon"]);
    assertExit(bad, 2);
    assert.match(bad.stderr, /invalid --header "no-colon": expected NAME:VALUE/);
  } finally {
    await server.shutdown();
    await http.shutdown();
  }
});

Deno.test("wsrpc --read-limit closes on a larger response", async () => {
  const server = await serve();
  try {
    const big = JSON.stringify("x".repeat(2000));
    const r = await wsrpc(["call", server.url, "demo-echo-request", big, "--read-limit", "1KiB"]);
    assertExit(r, 1);
    assert.match(r.stderr, /connection closed: 1009/);
    const ok = await wsrpc(["call", server.url, "demo-echo-request", big, "--read-limit", "4KiB"]);
    assertExit(ok, 0);
  } finally {
    await server.stop();
  }
});

Deno.test("wsrpc reports connection failures with exit 3 and bad usage with exit 2", async (t) => {
  await t.step("a refused connection exits 3", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const r = await wsrpc(["call", `ws://127.0.0.1:${port}/v1/ws`, "demo-ping-request"]);
    assertExit(r, 3);
    assert.match(r.stderr, /^wsrpc: Cannot connect to ws:\/\/127\.0\.0\.1:\d+\/v1\/ws: .*refused/i);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  });

  await t.step("an HTTP server that does not upgrade exits 3", async () => {
    const http = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => new Response("no", { status: 404 }),
    );
    try {
      const r = await wsrpc(["ping", `ws://127.0.0.1:${http.addr.port}/`, "-c", "1"]);
      assertExit(r, 3);
      assert.match(r.stderr, /^wsrpc: Cannot connect to /);
    } finally {
      await http.shutdown();
    }
  });

  await t.step("a server that never sends its first message times out with exit 3", async () => {
    const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onopen = () => {}; // silent: no first message
      return response;
    });
    try {
      const r = await wsrpc([
        "call",
        `ws://127.0.0.1:${http.addr.port}/`,
        "x-request",
        "--timeout",
        "300ms",
      ]);
      assertExit(r, 3);
      assert.match(r.stderr, /Connect timed out after 300 ms/);
    } finally {
      await http.shutdown();
    }
  });

  await t.step("a malformed URL or wrong scheme exits 2", async () => {
    for (const url of ["not a url", "ftp://127.0.0.1/x"]) {
      const r = await wsrpc(["call", url, "demo-ping-request"]);
      assertExit(r, 2);
      assert.match(r.stderr, /^wsrpc: Cannot connect: (invalid URL|URL scheme must be)/);
    }
  });

  await t.step("usage errors exit 2 with one line", async () => {
    const cases: [string[], RegExp][] = [
      [["call", "ws://127.0.0.1:1/"], /missing arguments: expected URL COMMAND \[PAYLOAD\]/],
      [["call", "ws://x/", "a", "1", "extra"], /unexpected argument "extra"/],
      [["call", "--bogus"], /unknown flag "--bogus" \(see "wsrpc call --help"\)/],
      [["ping", "ws://x/", "--count", "0"], /invalid --count: expected a positive integer/],
      [["ping", "ws://x/", "--count"], /flag "--count" needs a value/],
      [["listen", "ws://x/", "--timeout", "soon"], /invalid duration for --timeout/],
      [["serve", "--port", "70000"], /invalid --port "70000"/],
      [["frobnicate"], /unknown command "frobnicate"/],
      [["call", "ws://127.0.0.1:1/", "a", "--key", "/nonexistent/key"], /cannot read key file/],
    ];
    for (const [args, message] of cases) {
      const r = await wsrpc(args);
      assertExit(r, 2);
      assert.match(r.stderr, message, args.join(" "));
      assert.equal(r.stderr.trim().split("\n").length, 1, args.join(" "));
    }
  });
});

Deno.test("wsrpc --help documents every command and the exit codes", async () => {
  for (const command of ["call", "listen", "ping", "serve", "keygen"]) {
    for (const args of [[command, "--help"], [command, "-h"], ["help", command]]) {
      const r = await wsrpc(args);
      assertExit(r, 0);
      assert.ok(r.stdout.startsWith(`wsrpc ${command}: `), r.stdout);
      assert.match(r.stdout, new RegExp(`Usage: wsrpc ${command}`));
      assert.match(r.stdout, /Exit codes/);
    }
  }
  const main = await wsrpc(["--help"]);
  assertExit(main, 0);
  for (const line of ["0  success", "2  usage error", "3  cannot connect", "4  handshake failed"]) {
    assert.ok(main.stdout.includes(line), line);
  }
  const bare = await wsrpc([]);
  assertExit(bare, 2);
  assert.match(bare.stderr, /Usage:/);
  const version = await wsrpc(["--version"]);
  assertExit(version, 0);
  assert.match(version.stdout, /^wsrpc \d+\.\d+\.\d+/);
});

Deno.test("wsrpc keygen writes a 0600 key file and prints the public key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wsrpc_keygen_" });
  try {
    const r = await wsrpc(["keygen", "--out", "me.key"], { cwd: dir });
    assertExit(r, 0);
    const printed = r.stdout.trim();
    assert.match(printed, /^[0-9a-f]{64}$/);
    const secret = (await Deno.readTextFile(`${dir}/me.key`)).trim();
    assert.match(secret, /^[0-9a-f]{64}$/);
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(`${dir}/me.key`)).mode! & 0o777, 0o600);
    }
    assert.equal((await Deno.readTextFile(`${dir}/me.key.pub`)).trim(), printed);
    // The key round-trips: the printed key is the public key of the secret in the file.
    assert.equal((await publicKeyFromSecret(Uint8Array.fromHex(secret))).toHex(), printed);

    const again = await wsrpc(["keygen", "--out", "me.key"], { cwd: dir });
    assertExit(again, 1);
    assert.match(again.stderr, /use --force to overwrite/);
    assert.equal((await Deno.readTextFile(`${dir}/me.key`)).trim(), secret, "not overwritten");

    const forced = await wsrpc(["keygen", "-o", "me.key", "--force"], { cwd: dir });
    assertExit(forced, 0);
    assert.notEqual(forced.stdout.trim(), printed);
    assert.equal((await Deno.readTextFile(`${dir}/me.key.pub`)).trim(), forced.stdout.trim());

    const bad = `${dir}/bad.key`;
    await Deno.writeTextFile(bad, "not hex\n");
    const invalid = await wsrpc(["call", "ws://127.0.0.1:1/", "x", "--key", bad]);
    assertExit(invalid, 2);
    assert.match(invalid.stderr, /invalid key file ".*bad\.key": /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("wsrpc with ed25519 keys: mutual authentication, pinning and refusals", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "wsrpc_auth_" });
  const keys: Record<string, string> = {};
  for (const name of ["server", "client", "stranger"]) {
    const r = await wsrpc(["keygen", "--out", `${name}.key`], { cwd: dir });
    assertExit(r, 0);
    keys[name] = r.stdout.trim();
  }
  const server = await serve(["--key", "server.key", "--allow", "client.key.pub"], dir);
  const plain = await serve();
  try {
    await t.step("a listed client that pins the right server key connects", async () => {
      const r = await wsrpc(
        [
          "call",
          server.url,
          "demo-echo-request",
          '"hi"',
          "--key",
          "client.key",
          "--server-key",
          keys.server!,
        ],
        { cwd: dir },
      );
      assertExit(r, 0);
      assert.equal(r.stdout, '"hi"\n');
    });

    await t.step("--server-key also reads a .pub file; --verbose shows the handshake", async () => {
      const r = await wsrpc(
        [
          "ping",
          server.url,
          "-c",
          "1",
          "--key",
          "client.key",
          "--server-key",
          "server.key.pub",
          "-v",
        ],
        { cwd: dir },
      );
      assertExit(r, 0);
      assert.match(r.stderr, /^> \{"header":\{"command":"ed25519-hello"\}/m);
      assert.match(r.stderr, /^< \{"header":\{"command":"ed25519-hello-challenge"\}/m);
    });

    await t.step("a wrong --server-key pin fails the handshake with exit 4", async () => {
      const r = await wsrpc(
        [
          "call",
          server.url,
          "demo-ping-request",
          "--key",
          "client.key",
          "--server-key",
          keys.stranger!,
        ],
        { cwd: dir },
      );
      assertExit(r, 4);
      assert.match(r.stderr, /^wsrpc: failed to handshake with server: server key mismatch/);
      assert.equal(r.stdout, "");
    });

    await t.step("a key not on the allow-list is refused with exit 4", async () => {
      const r = await wsrpc(
        ["call", server.url, "demo-ping-request", "--key", "stranger.key"],
        { cwd: dir },
      );
      assertExit(r, 4);
      assert.match(r.stderr, /failed to handshake with server: .*invalid public key/);
    });

    await t.step("--server-key alone authenticates the server with an ephemeral key", async () => {
      // The server only allows client.key, so the ephemeral key is refused after the
      // server proved its key: the pin passed, the allow-list refused.
      const r = await wsrpc(["call", server.url, "x-request", "--server-key", keys.server!]);
      assertExit(r, 4);
      assert.match(r.stderr, /invalid public key/);
      const open = await serve(["--key", "server.key"], dir);
      try {
        const ok = await wsrpc([
          "call",
          open.url,
          "demo-echo-request",
          "2",
          "--server-key",
          keys.server!,
        ]);
        assertExit(ok, 0);
        assert.equal(ok.stdout, "2\n");
      } finally {
        await open.stop();
      }
    });

    await t.step("a --key against a server without authentication exits 4", async () => {
      const r = await wsrpc(["call", plain.url, "demo-ping-request", "--key", "client.key"], {
        cwd: dir,
      });
      assertExit(r, 4);
      assert.match(r.stderr, /^wsrpc: failed to handshake with server: /);
      assert.match(r.stderr, /the server does not authenticate clients: drop --key/);
    });
  } finally {
    const stopped = await server.stop();
    await plain.stop();
    await Deno.remove(dir, { recursive: true });
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.ok(stopped.stderr.includes(`server public key ${keys.server}`), stopped.stderr);
    assert.ok(stopped.stderr.includes(`key ${keys.client}`), "the session log names the client");
  }
});

Deno.test("`deno task demo` runs the CLI session end to end and exits 0", async () => {
  const demo = new URL("../examples/demo.ts", import.meta.url).pathname;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", demo],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = decoder.decode(stdout);
  assert.equal(code, 0, `${out}\n${decoder.decode(stderr)}`);
  assert.match(
    out,
    /^\$ wsrpc serve --port 0 --key server\.key --allow client\.key\.pub &\nws:\/\/127\.0\.0\.1:\d+\/v1\/ws$/m,
  );
  assert.match(out, /^\{"hello":"world","height":18446744073709551615\}$/m);
  assert.match(out, /^3 sent, 3 received, 0% loss/m);
  assert.match(out, /server key mismatch[^\n]*\n\(exit 4\)/);
  assert.match(out, /SIGINT: shutting down\n\ndone\n$/);
});

Deno.test("wsrpc shows a hostile server's text without terminal escapes or bidi controls", async (t) => {
  const evil = "A\u001b]0;PWNED\u0007B\u001b[2J\u009b31m\u202eC\u2028D";
  // A raw server: WebSocket frames written by hand, so nothing is sanitized on its way out.
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () =>
      socket.send(`{"header":{"command":"x-ping-request","id":"0"},"payload":{"timestamp":1}}`);
    socket.onmessage = (e) => {
      const { header } = JSON.parse(e.data as string);
      const reply = (command: string, payload: unknown, id = header.id) =>
        socket.send(JSON.stringify({ header: { command, id }, payload }));
      if (header.command === "x-error-request") {
        reply("x-error-response", { error: { timestamp: 1, message: evil }, note: evil });
      } else if (header.command === "x-close-request") {
        socket.close(4000, evil);
      } else if (header.command === "x-push-request") {
        reply("x-push-response", {});
        reply("x-event-notification", { text: evil }, undefined);
        socket.close(4000, evil);
      }
    };
    return response;
  });
  const url = `ws://127.0.0.1:${http.addr.port}/v1/ws`;
  // Every character that drives a terminal or reorders text; line breaks of the CLI's own output aside.
  const unsafe = new RegExp(
    String
      .raw`[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]`,
  );
  const assertSafe = (r: Result) => {
    assert.doesNotMatch(r.stdout, unsafe, `stdout: ${JSON.stringify(r.stdout)}`);
    assert.doesNotMatch(r.stderr, unsafe, `stderr: ${JSON.stringify(r.stderr)}`);
  };
  const shown = String.raw`A\u001b]0;PWNED\u0007B\u001b[2J\u009b31m\u202eC\u2028D`;
  try {
    await t.step("an error message, a response payload and -v frames", async () => {
      const r = await wsrpc(["call", "-v", url, "x-error-request", "{}"]);
      assertExit(r, 1);
      assertSafe(r);
      assert.ok(r.stderr.includes(`wsrpc: ${shown}\n`), r.stderr);
      assert.ok(r.stderr.includes(`< {"header":{"command":"x-error-response","id":"1"}`), r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).note, evil); // stdout stays JSON with the same value
    });
    await t.step("a close reason", async () => {
      const r = await wsrpc(["call", url, "x-close-request", "{}"]);
      assertExit(r, 1);
      assertSafe(r);
      assert.ok(r.stderr.includes(shown), r.stderr);
    });
    await t.step("a push and a close reason in listen", async () => {
      const r = await wsrpc(["listen", url, "x-push-request", "{}"]);
      assertExit(r, 1);
      assertSafe(r);
      assert.deepEqual(JSON.parse(r.stdout).payload.text, evil);
      assert.match(r.stderr, /connection closed after 1 message: 4000/);
    });
  } finally {
    await http.shutdown();
  }
});
