/**
 * The client on Node.js 22 (its global `WebSocket`), installed pinned from
 * the npm registry (package `node`, `tools/node22/`; installed by this test
 * when missing). `tests/node/client.ts` is bundled by `deno bundle` into one
 * ES module and run by Node against this test's Deno servers.
 *
 * Node 22 lacks the native `Uint8Array` hex/base64 methods (V8 ships them from
 * Node 25): the package falls back to its own (lib/_bytes.ts), so the whole
 * package, ed25519 included, runs as is.
 */
import assert from "node:assert/strict";
import { Server, type Session } from "../mod.ts";
import { createHandler } from "../lib/deno.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import { ed25519Server } from "../lib/ed25519_authenticator.ts";
import { encodeHex, generateKeyPair } from "../lib/ed25519_keys.ts";
import { bundleForBrowser, run } from "./interop/_process.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const NODE_DIR = `${ROOT}tools/node22`;
const NODE = `${NODE_DIR}/node_modules/node/bin/node`;

async function ensureNode22(): Promise<string> {
  try {
    await Deno.stat(NODE);
  } catch {
    await run("npm", ["ci", "--prefix", NODE_DIR, "--no-audit", "--no-fund"]);
  }
  return NODE;
}

function assertScenario(outcome: { ok: boolean; error?: string; value?: unknown }): void {
  assert.equal(outcome.ok, true, outcome.error);
  // deno-lint-ignore no-explicit-any
  const r = outcome.value as any;
  assert.equal(r.pong.origintimestamp, 1234);
  assert.deepEqual(r.echo, {
    hello: "wörld ✓",
    list: [1, null, true, { a: "b" }],
    big: `${2n ** 63n + 1n}n`, // decoded as a bigint by the client on Node
  });
  assert.deepEqual(r.notify, { count: 3 });
  assert.deepEqual(r.pushes, [1, 2, 3]);
  assert.equal(r.error.name, "ProtocolError");
  assert.equal(r.error.message, "demo failure, as requested");
  assert.deepEqual(r.sleepOrder, [1, 200]);
}

Deno.test("Conn works on Node 22's global WebSocket", async (t) => {
  const node = await ensureNode22();
  const dir = await Deno.makeTempDir({ prefix: "wsrpc-node-" });
  const serverKey = await generateKeyPair();
  const clientKey = await generateKeyPair();
  const opened: Session<typeof demoAPI>[] = [];
  const plain = new Server(demoAPI, { handlers: demoHandlers });
  const authenticated = new Server(demoAPI, {
    handlers: demoHandlers,
    authenticator: ed25519Server({ secretKey: serverKey.secretKey, allow: [clientKey.publicKey] }),
    onSessionOpen: (session) => opened.push(session),
  });
  const plainHandler = createHandler(plain);
  const authHandler = createHandler(authenticated);
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) =>
      new URL(req.url).pathname === "/v1/ws-auth"
        ? authHandler(req, info)
        : plainHandler(req, info),
  );
  try {
    const bundle = `${dir}/client.mjs`;
    await bundleForBrowser(`${ROOT}tests/node/client.ts`, bundle);
    const base = `ws://127.0.0.1:${http.addr.port}`;
    const args = [
      `${base}/v1/ws`,
      `${base}/v1/ws-auth`,
      encodeHex(clientKey.secretKey),
      encodeHex(serverKey.publicKey),
    ];
    const results = async (nodeArgs: string[]) => {
      const { stdout } = await run(node, [...nodeArgs, bundle, ...args]);
      return JSON.parse(stdout.trim().split("\n").at(-1)!);
    };

    await t.step("as is, without native hex methods: the entry point, calls, ed25519", async () => {
      const r = await results([]);
      assert.match(r.version, /^v22\./);
      assert.equal(r.hasWebSocket, true);
      assert.equal(r.hasUint8ArrayHex, false, "Node 22 has no native Uint8Array.fromHex");
      assert.equal(r.rootModule.ok, true, r.rootModule.error);
      assert.ok(r.rootModule.value > 20, "mod.ts exports");
      assertScenario(r.plain);
      assertScenario(r.authenticated);
      assert.deepEqual(opened.map((s) => s.peer?.publicKey), [encodeHex(clientKey.publicKey)]);
    });

    await t.step("examples/node/client.ts runs as TypeScript on Node 22 with ed25519", async () => {
      const { stdout } = await run(node, [
        "--no-warnings",
        `${ROOT}examples/node/client.ts`,
        `${base}/v1/ws-auth`,
        "--secret-key",
        encodeHex(clientKey.secretKey),
        "--server-key",
        encodeHex(serverKey.publicKey),
      ]);
      assert.match(stdout, /^connected to ws:\/\/127\.0\.0\.1:\d+\/v1\/ws-auth from Node v22\./);
      assert.match(stdout, /^echo {2}-> bigint kept$/m);
      assert.match(stdout, /^push {2}-> \{"seq":2\}$/m);
      assert.match(stdout, /^error -> demo failure, as requested$/m);
      assert.equal(opened.at(-1)?.peer?.userAgent, "node/22.23.3");
    });
  } finally {
    await plain.shutdown({ graceMs: 0 });
    await authenticated.shutdown({ graceMs: 0 });
    await http.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
