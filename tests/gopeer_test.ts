/**
 * Wire compatibility with an independent Go peer: `../shared/gopeer`, built
 * on nhooyr.io/websocket 1.8.7 (the library hemi's daemons use) from Debian's
 * packages by its `build.sh`, into `.tmp/gopeer/`. The wsrpc CLI and `Conn`
 * call `gopeer server`; `gopeer client` calls `wsrpc serve` (Deno) and the Bun
 * example server, with each of its compression modes.
 *
 * Go missing is a failure, never a skip: `.ci/run` installs it
 * (golang-go, golang-nhooyr-websocket-dev), and `build.sh` apt-installs it
 * when it can.
 */
import assert from "node:assert/strict";
import { Conn, ConnectionClosedError, ProtocolError, schemalessAPI } from "../mod.ts";
import { type ChildServer, startChild } from "./interop/_process.ts";

const ROOT = new URL("../", import.meta.url);
const PEER_DIR = new URL("../../shared/gopeer/", import.meta.url);
const GOPEER = new URL(".tmp/gopeer/gopeer", ROOT).pathname;
const CLI = new URL("lib/cli/main.ts", ROOT).pathname;
const BUN_SERVER = new URL("examples/bun/server.ts", ROOT).pathname;
const BUN = Deno.env.get("BUN") ?? "bun";
const DENO = Deno.execPath();
const decoder = new TextDecoder();

/** Runs a command to completion within `timeoutMs`; never throws on a non-zero exit. */
async function exec(
  cmd: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: ROOT.pathname,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

function show(result: { code: number; stdout: string; stderr: string }): string {
  return `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
}

/** Builds gopeer (GOPATH mode, Debian packages); throws with the build's output when it fails. */
async function buildGopeer(): Promise<void> {
  const script = new URL("build.sh", PEER_DIR).pathname;
  try {
    await Deno.stat(script);
  } catch {
    throw new Error(`the Go peer is missing: ${script} (shared/ must sit beside the repository)`);
  }
  const result = await exec("sh", [script, GOPEER], 600_000);
  assert.equal(result.code, 0, `building gopeer failed (is Go installed?)\n${show(result)}`);
  assert.equal((await Deno.stat(GOPEER)).isFile, true);
}

/** `wsrpc ARGS...` against the Go server. */
function wsrpc(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return exec(DENO, ["run", "-A", CLI, ...args], 60_000);
}

/** `gopeer client` against `url`: 200 pings (10 in flight), echo, notify. */
async function goClient(url: string, compress: string): Promise<string> {
  const result = await exec(GOPEER, [
    "client",
    "-url",
    url,
    "-n",
    "200",
    "-c",
    "10",
    "-timeout",
    "30s",
    "-compress",
    compress,
  ], 60_000);
  assert.equal(result.code, 0, show(result));
  assert.match(result.stdout, /^initial message: demo-ping-request id=0/m);
  assert.match(result.stdout, /^echo: ok, payload semantically equal \(bytes identical: true\)$/m);
  assert.match(result.stdout, /^notify: ok/m);
  assert.match(result.stdout, /^ok 200 calls, \d+ calls\/s$/m);
  return result.stdout;
}

const COMPRESSION = ["disabled", "no-context-takeover", "context-takeover"];

Deno.test("Go interop: gopeer (nhooyr.io/websocket) against wsrpc, both directions", async (t) => {
  await buildGopeer();

  await t.step("the wsrpc CLI and Conn against gopeer server", async (t) => {
    await using go = await startChild(GOPEER, ["server"]);
    const url = go.url.replace(/^listening /, "");
    assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+\/v1\/ws$/);

    await t.step("CLI: ping, echo verbatim, fail", async () => {
      const ping = await wsrpc(["call", url, "demo-ping-request", '{"timestamp":1732453000}']);
      assert.equal(ping.code, 0, show(ping));
      assert.equal(JSON.parse(ping.stdout).origintimestamp, 1732453000);
      const payload = '{"s":"héllo ✓","n":12345678901234567,"a":[1,2,{"b":null}]}';
      const echo = await wsrpc(["call", url, "demo-echo-request", payload]);
      assert.equal(echo.code, 0, show(echo));
      assert.equal(echo.stdout, `${payload}\n`); // every digit of n kept
      const fail = await wsrpc(["call", url, "demo-fail-request", "{}"]);
      assert.equal(fail.code, 1, show(fail));
      assert.match(fail.stderr, /^wsrpc: requested failure \[[0-9a-f]{16}:\d+\]\n$/);
    });

    await t.step("CLI: the default payload {} is accepted (null would be refused)", async () => {
      const result = await wsrpc(["call", url, "demo-notify-request"]);
      assert.equal(result.code, 0, show(result));
      assert.equal(result.stdout, "{}\n");
    });

    await t.step("CLI: listen prints the pushes, without id", async () => {
      const result = await wsrpc([
        "listen",
        url,
        "demo-notify-request",
        '{"count":3}',
        "--count",
        "3",
      ]);
      assert.equal(result.code, 0, show(result));
      assert.deepEqual(
        result.stdout.trim().split("\n").map((line) => JSON.parse(line)),
        [1, 2, 3]
          .map((seq) => ({ header: { command: "demo-event-notification" }, payload: { seq } })),
      );
    });

    await t.step("Conn: ping, echo, pushes, fail, out of order, default {}", async () => {
      await using conn = new Conn(url, { api: schemalessAPI, callTimeoutMs: 10_000 });
      await conn.connect();
      const pong = await conn.call("demo-ping-request", { timestamp: 77 }) as {
        origintimestamp: number;
      };
      assert.equal(pong.origintimestamp, 77);
      const big = { n: 2n ** 63n + 1n, s: "héllo ✓ \u0000", list: [1, { b: null }] };
      assert.deepEqual(await conn.call("demo-echo-request", big), big);
      assert.deepEqual(await conn.call("demo-notify-request", { count: 3 }), {});
      for (const seq of [1, 2, 3]) {
        const push = await conn.read({ signal: AbortSignal.timeout(10_000) });
        assert.deepEqual(push, { command: "demo-event-notification", id: "", payload: { seq } });
      }
      const error = await conn.call("demo-fail-request", {}).catch((e) => e);
      assert.ok(error instanceof ProtocolError, String(error));
      assert.equal(error.message, "requested failure");
      assert.match(error.trace, /^[0-9a-f]{16}$/);
      const order: string[] = [];
      await Promise.all([
        conn.call("demo-sleep-request", { ms: 300 }).then(() => order.push("sleep")),
        conn.call("demo-ping-request", { timestamp: 1 }).then(() => order.push("ping")),
      ]);
      assert.deepEqual(order, ["ping", "sleep"]);
      // undefined goes out as {}: gopeer refuses a payload that is not an object with 4000
      assert.deepEqual(await conn.call("demo-notify-request", undefined), {});
      assert.deepEqual(
        await conn.call("demo-ping-request", { timestamp: 2 }).then(() => "up"),
        "up",
      );
    });

    await t.step(
      "Conn with its extensions: no offer, so no wsrpc-* frame and no extra key",
      async () => {
        const hook = () => ({
          traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        });
        await using conn = new Conn(url, { api: schemalessAPI, trace: hook });
        await conn.connect();
        assert.deepEqual(conn.extensions, []); // gopeer's first message offers nothing
        await assert.rejects(conn.describe(), TypeError);
        // An abort and a timeout send no wsrpc-cancel (gopeer would close on an unknown command).
        const abort = new AbortController();
        const aborted = conn.call("demo-sleep-request", { ms: 200 }, { signal: abort.signal });
        setTimeout(() => abort.abort(), 20);
        await assert.rejects(aborted);
        await assert.rejects(conn.call("demo-sleep-request", { ms: 200 }, { timeoutMs: 20 }), {
          name: "TimeoutError",
        });
        assert.deepEqual(await conn.call("demo-echo-request", { still: "up" }), { still: "up" });
        assert.equal(conn.isOnline, true);
      },
    );

    await t.step("Conn over its read limit: gopeer sees 4009 and the reason", async () => {
      await using conn = new Conn(url, { api: schemalessAPI, readLimit: 1_024 });
      await conn.connect();
      const error = await conn.call("demo-echo-request", { blob: "x".repeat(2_000) }, {
        timeoutMs: 10_000,
      }).catch((e) => e);
      assert.ok(error instanceof ConnectionClosedError, String(error));
      assert.equal(error.code, 1009);
      assert.equal(error.reason, "read limited at 1024 bytes");
    });

    // gopeer logs each connection's end on stderr once it is over.
    assert.equal(await go.stop(), 0);
    assert.match(go.stderr(), /closed, status 4009 reason "read limited at 1024 bytes"/);
    assert.doesNotMatch(go.stderr(), /wsrpc-/); // no extension frame ever reached it
  });

  const servers: [string, () => Promise<ChildServer>][] = [
    ["wsrpc serve (Deno)", () => startChild(DENO, ["run", "-A", CLI, "serve", "--port", "0"])],
    ["the Bun example server", () => startChild(BUN, [BUN_SERVER, "--port", "0"])],
  ];
  for (const [name, start] of servers) {
    await t.step(`gopeer client against ${name}`, async (t) => {
      await using server = await start();
      assert.match(server.url, /^ws:\/\/127\.0\.0\.1:\d+\/v1\/ws$/);
      for (const compress of COMPRESSION) {
        await t.step(`-compress ${compress}`, async () => {
          const stdout = await goClient(server.url, compress);
          // wsrpc serve's first message carries the extension offer; gopeer discards it unread.
          assert.match(stdout, /^initial message: demo-ping-request id=0 \(not answered\)$/m);
          // Neither server negotiates permessage-deflate: the client must cope.
          assert.match(stdout, /^connected .* \(compression: none\)$/m);
        });
      }
      // -extra is not run: it expects gopeer's own fail message and trace and
      // 4000 closes, where wsrpc documents "demo failure, as requested" and 1008.
    });
  }
});
