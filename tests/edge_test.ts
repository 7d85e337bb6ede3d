/**
 * The edge examples (`examples/edge/`): each handler imported and run under
 * `Deno.serve` on 127.0.0.1 port 0, and each entry point run as its platform
 * runs it (`deno run` with `Deno.serve`, `deno serve` for the default
 * export), with the ed25519 handshake configured from the environment.
 */
import assert from "node:assert/strict";
import { ECHO, runScenario, type ScenarioResult } from "./interop/_scenario.ts";
import { startChild } from "./interop/_process.ts";
import { encodeHex, generateKeyPair } from "../lib/ed25519_keys.ts";
import * as deploy from "../examples/edge/deno_deploy.ts";
import defaultExport, * as defaultModule from "../examples/edge/fetch_default_export.ts";
import * as supabase from "../examples/edge/supabase/wsrpc.ts";

const DENO = Deno.execPath();

function assertScenario(result: ScenarioResult): void {
  assert.equal(result.pong.origintimestamp, 1234);
  assert.deepEqual(result.echo, ECHO);
  assert.deepEqual(result.pushes, [1, 2, 3]);
  assert.equal(result.error?.message, "demo failure, as requested");
  assert.deepEqual(result.sleepOrder, [1, 200]);
}

const cases = [
  {
    name: "deno_deploy.ts handler",
    handler: deploy.handler,
    server: deploy.server,
    path: "/v1/ws",
  },
  {
    name: "fetch_default_export.ts default { fetch }",
    handler: defaultExport.fetch,
    server: defaultModule.server,
    path: "/v1/ws",
  },
  {
    name: "supabase/wsrpc.ts handler",
    handler: supabase.handler,
    server: supabase.server,
    path: "/functions/v1/wsrpc",
  },
];

for (const { name, handler, server, path } of cases) {
  Deno.test(`${name} serves Conn under Deno.serve and answers plain HTTP`, async () => {
    const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
    try {
      const base = `127.0.0.1:${http.addr.port}${path}`;
      assertScenario(await runScenario(`ws://${base}`));
      const plain = await fetch(`http://${base}`);
      assert.equal(plain.status, 200);
      assert.match(await plain.text(), /^wsrpc demo: open a WebSocket to http:\/\//);
      const foreign = await fetch(`http://${base}`, {
        headers: { upgrade: "websocket", connection: "Upgrade", origin: "https://evil.example" },
      });
      assert.equal(foreign.status, 403); // no key configured: same-origin only
      await foreign.body?.cancel();
    } finally {
      await server.shutdown({ graceMs: 0 });
      await http.shutdown();
    }
  });
}

/** `Listening on http://127.0.0.1:PORT/` (Deno prints it on stderr) as a ws: URL. */
const listening = (path: string) => (_stdout: string[], stderr: string) => {
  const m = stderr.match(/Listening on http:\/\/(127\.0\.0\.1:\d+)\//);
  return m ? `ws://${m[1]}${path}` : undefined;
};

const entries = [
  {
    name: "deno_deploy.ts (deno run, Deno.serve)",
    args: ["run", "-A", "examples/edge/deno_deploy.ts"],
    path: "/v1/ws",
  },
  {
    name: "supabase/index.ts (deno run, Deno.serve)",
    args: ["run", "-A", "examples/edge/supabase/index.ts"],
    path: "/functions/v1/wsrpc",
  },
  {
    name: "fetch_default_export.ts (deno serve)",
    args: [
      "serve",
      "-A",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "examples/edge/fetch_default_export.ts",
    ],
    path: "/v1/ws",
  },
];

for (const { name, args, path } of entries) {
  Deno.test(`${name} runs as an entry point with ed25519 from the environment`, async () => {
    const serverKey = await generateKeyPair();
    const client = await generateKeyPair();
    await using child = await startChild(DENO, args, {
      env: {
        DENO_SERVE_ADDRESS: "tcp:127.0.0.1:0",
        WSRPC_SECRET_KEY: encodeHex(serverKey.secretKey),
      },
      findURL: listening(path),
      stopSignal: "SIGKILL", // `deno serve` would wait for open sockets
    });
    assertScenario(
      await runScenario(child.url, {
        secretKey: encodeHex(client.secretKey),
        serverPublicKey: encodeHex(serverKey.publicKey),
      }),
    );
    // A key is configured: cross-origin browsers may connect (auth is in-band).
    const cross = await fetch(child.url.replace("ws:", "http:"), {
      headers: {
        upgrade: "websocket",
        connection: "Upgrade",
        origin: "https://app.example",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      },
    });
    assert.equal(cross.status, 101);
    await cross.body?.cancel().catch(() => {});
  });
}
