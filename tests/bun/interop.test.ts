/**
 * Cross-runtime interop, Bun side: a Bun client (`Conn` on Bun's global
 * `WebSocket`) against the Deno server `tests/interop/deno_server.ts`,
 * unauthenticated and with ed25519. The other direction is in
 * `tests/interop_test.ts`.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { encodeHex, generateKeyPair } from "../../lib/ed25519_keys.ts";
import { ECHO, refusedConnect, runScenario, type ScenarioResult } from "../interop/_scenario.ts";
import { afterEach, Bun, type BunSubprocess, describe, test } from "./_harness.ts";

const DENO = process.env.DENO ?? Bun.which("deno") ?? "deno";
const SERVER = new URL("../interop/deno_server.ts", import.meta.url).pathname;

interface Child {
  url: string;
  lines: string[];
  waitForLine(pattern: RegExp): Promise<string>;
  stop(): Promise<number>;
}

const children: Child[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) await child.stop();
});

/** Starts the Deno server and waits for its URL line. */
async function startDeno(args: string[]): Promise<Child> {
  const proc: BunSubprocess = Bun.spawn([DENO, "run", "-A", SERVER, "--port", "0", ...args], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: string[] = [];
  let stderr = "";
  let exited = false;
  void proc.exited.then(() => exited = true);
  const pump = (async () => {
    let rest = "";
    for await (const chunk of proc.stdout.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      let nl;
      while ((nl = rest.indexOf("\n")) >= 0) {
        lines.push(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
      }
    }
  })();
  void (async () => {
    for await (const chunk of proc.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  const waitFor = async (find: () => string | undefined, what: string) => {
    const until = Date.now() + 30_000;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (exited || Date.now() > until) throw new Error(`deno server: no ${what}; ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  let stopped: Promise<number> | undefined;
  const child: Child = {
    url: "",
    lines,
    waitForLine: (pattern) => waitFor(() => lines.slice(1).find((l) => pattern.test(l)), "line"),
    stop: () =>
      stopped ??= (async () => {
        if (!exited) proc.kill("SIGTERM");
        const code = await proc.exited;
        await pump;
        return code;
      })(),
  };
  children.push(child);
  child.url = await waitFor(() => lines[0], "URL line");
  return child;
}

function assertScenario(result: ScenarioResult): void {
  assert.equal(result.pong.origintimestamp, 1234);
  assert.deepEqual(result.echo, ECHO);
  assert.deepEqual(result.notify, { count: 3 });
  assert.deepEqual(result.pushes, [1, 2, 3]);
  assert.equal(result.error?.name, "ProtocolError");
  assert.equal(result.error?.message, "demo failure, as requested");
  assert.deepEqual(result.sleepOrder, [1, 200]);
}

describe("Bun Conn against a Deno server", () => {
  test("calls, pushes and errors without authentication", async () => {
    const server = await startDeno([]);
    assert.match(server.url, /^ws:\/\/127\.0\.0\.1:\d+\/v1\/ws$/);
    assertScenario(await runScenario(server.url));
    assert.match(await server.waitForLine(/^open /), /^open \d+ anonymous$/);
    assert.equal(await server.stop(), 0);
  }, 60_000);

  test("ed25519: an allowed key connects, others are refused", async () => {
    const serverKey = await generateKeyPair();
    const alice = await generateKeyPair();
    const mallory = await generateKeyPair();
    const server = await startDeno([
      "--secret-key",
      encodeHex(serverKey.secretKey),
      "--allow",
      encodeHex(alice.publicKey),
    ]);
    const serverPublicKey = encodeHex(serverKey.publicKey);
    assertScenario(
      await runScenario(server.url, { secretKey: encodeHex(alice.secretKey), serverPublicKey }),
    );
    assert.equal(
      await server.waitForLine(/^open /),
      `open 1 ${encodeHex(alice.publicKey)}`,
    );
    const refused = await refusedConnect(server.url, {
      secretKey: encodeHex(mallory.secretKey),
      serverPublicKey,
    });
    // README: a refused key rejects connect() with a HandshakeError, never a bare close.
    assert.equal(refused.name, "HandshakeError", `${refused.name}: ${refused.message}`);
    assert.equal(refused.handshake, true);
    assert.match(refused.message, /^failed to handshake with server: .*invalid public key/);
    const mismatch = await refusedConnect(server.url, {
      secretKey: encodeHex(alice.secretKey),
      serverPublicKey: encodeHex(mallory.publicKey),
    });
    assert.equal(mismatch.handshake, true);
    assert.match(mismatch.message, /server key mismatch/);
    assert.equal(await server.stop(), 0);
    assert.equal(server.lines.filter((l) => l.startsWith("open ")).length, 1);
  }, 60_000);
});
