/**
 * The client in a real browser: headless Chromium (Debian's `chromium`,
 * driven by `playwright-core` from Node) loads a page served on 127.0.0.1
 * whose script is `tests/browser/page.ts` bundled by
 * `deno bundle --platform browser`. The page runs `Conn` against this test's
 * servers: the demo API without authentication, with ed25519 (the server
 * checks the browser's key), with a wrong pinned server key, and against a
 * server of another origin (refused), and offers subprotocols to a server
 * that speaks some (it echoes its choice) or none of them. It also opens the
 * example page of `examples/browser/` and checks its log. The test installs
 * Chromium (apt-get, as root) and playwright-core (`npm ci --prefix tools`)
 * when they are missing, and fails when it cannot.
 */
import assert from "node:assert/strict";
import { Server, type Session } from "../mod.ts";
import { createHandler } from "../lib/deno.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import { ed25519Server } from "../lib/ed25519_authenticator.ts";
import { encodeHex, generateKeyPair } from "../lib/ed25519_keys.ts";
import { startBrowserDemo } from "../examples/browser/serve.ts";
import { bundleForBrowser, run } from "./interop/_process.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const CHROMIUM = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";
const PLAYWRIGHT = `${ROOT}tools/node_modules/playwright-core`;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Chromium from Debian's package; installed when missing and we are root. */
async function ensureChromium(): Promise<string> {
  if (await exists(CHROMIUM)) return CHROMIUM;
  if (Deno.uid() !== 0) {
    throw new Error(`${CHROMIUM} is missing: run \`apt-get install chromium\` as root`);
  }
  const apt = { DEBIAN_FRONTEND: "noninteractive" };
  await run("apt-get", ["update", "-qq"], apt);
  await run("apt-get", ["install", "-y", "-qq", "chromium"], apt);
  if (!await exists(CHROMIUM)) {
    throw new Error(`apt-get installed chromium, but not at ${CHROMIUM}`);
  }
  return CHROMIUM;
}

/** playwright-core, pinned in tools/package.json. */
async function ensurePlaywright(): Promise<string> {
  if (!await exists(`${PLAYWRIGHT}/package.json`)) {
    await run("npm", ["ci", "--prefix", `${ROOT}tools`, "--no-audit", "--no-fund"]);
  }
  return PLAYWRIGHT;
}

async function bundle(dir: string): Promise<string> {
  const out = `${dir}/page.js`;
  await bundleForBrowser(`${ROOT}tests/browser/page.ts`, out);
  return await Deno.readTextFile(out);
}

const HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>wsrpc browser test</title></head>
<body><script type="module" src="/page.js"></script></body></html>
`;

Deno.test("Conn works in headless Chromium: calls, pushes, errors, ed25519, origin check, subprotocols, example page", async () => {
  const [chromium, playwright] = await Promise.all([ensureChromium(), ensurePlaywright()]);
  const dir = await Deno.makeTempDir({ prefix: "wsrpc-browser-" });
  const serverKey = await generateKeyPair();
  const browserKey = await generateKeyPair();
  const otherKey = await generateKeyPair();
  const opened: Session<typeof demoAPI>[] = [];
  const plain = new Server(demoAPI, { handlers: demoHandlers });
  const authenticated = new Server(demoAPI, {
    handlers: demoHandlers,
    authenticator: ed25519Server({
      secretKey: serverKey.secretKey,
      allow: [browserKey.publicKey],
    }),
    onSessionOpen: (session) => opened.push(session),
  });
  const foreign = new Server(demoAPI, { handlers: demoHandlers });
  // Speaks two subprotocols, wsrpc.v2 preferred; `offers` records what each upgrade offered.
  const chooser = new Server(demoAPI, {
    handlers: demoHandlers,
    protocols: ["wsrpc.v2", "wsrpc.v1"],
  });
  const offers: (string | null)[] = [];
  const plainHandler = createHandler(plain);
  const authHandler = createHandler(authenticated);
  const protocolHandler = createHandler(chooser);
  let http: Deno.HttpServer<Deno.NetAddr> | undefined;
  let other: Deno.HttpServer<Deno.NetAddr> | undefined;
  try {
    const script = await bundle(dir);
    http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req, info) => {
      const { pathname } = new URL(req.url);
      if (pathname === "/") {
        return new Response(HTML, { headers: { "content-type": "text/html; charset=utf-8" } });
      }
      if (pathname === "/page.js") {
        return new Response(script, { headers: { "content-type": "text/javascript" } });
      }
      if (pathname === "/v1/ws") return plainHandler(req, info);
      if (pathname === "/v1/ws-auth") return authHandler(req, info);
      if (pathname === "/v1/ws-proto") {
        offers.push(req.headers.get("sec-websocket-protocol"));
        return protocolHandler(req, info);
      }
      return new Response("Not found\n", { status: 404 });
    });
    other = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      createHandler(foreign),
    );
    const query = new URLSearchParams({
      key: encodeHex(browserKey.secretKey),
      server: encodeHex(serverKey.publicKey),
      other: encodeHex(otherKey.publicKey),
      foreign: `ws://127.0.0.1:${other.addr.port}/v1/ws`,
    });
    const pageURL = `http://127.0.0.1:${http.addr.port}/?${query}`;

    await using example = await startBrowserDemo({ port: 0 });

    const driver = await new Deno.Command("node", {
      args: [
        `${ROOT}tests/browser/driver.mjs`,
        playwright,
        chromium,
        pageURL,
        "wsrpcResults",
        example.url,
        "wsrpcDemo",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(driver.stdout);
    const stderr = new TextDecoder().decode(driver.stderr);
    assert.equal(driver.code, 0, `driver failed:\n${stderr}`);
    // deno-lint-ignore no-explicit-any
    const all = JSON.parse(stdout.trim().split("\n").at(-1)!) as any;
    const results = all.wsrpcResults;
    if (Deno.env.get("WSRPC_VERBOSE")) console.log(JSON.stringify(all, null, 1), stderr);

    assert.match(results.userAgent, /Chrome\//);
    assert.equal(results.hasWebSocket, true);
    for (const key of ["plain", "authenticated"]) {
      const outcome = results[key];
      assert.equal(outcome.ok, true, `${key}: ${outcome.error}`);
      const r = outcome.value;
      assert.equal(r.pong.origintimestamp, 1234);
      assert.deepEqual(r.echo, {
        hello: "wörld ✓",
        list: [1, null, true, { a: "b" }],
        big: `${2n ** 63n + 1n}n`, // decoded as a bigint in the browser
      });
      assert.deepEqual(r.notify, { count: 3 });
      assert.deepEqual(r.pushes, [1, 2, 3]);
      assert.equal(r.error.name, "ProtocolError");
      assert.equal(r.error.message, "demo failure, as requested");
      assert.deepEqual(r.sleepOrder, [1, 200]);
    }
    // The server saw the browser's key, and only once (the refused attempt never opened).
    assert.deepEqual(opened.map((s) => s.peer?.publicKey), [encodeHex(browserKey.publicKey)]);
    assert.equal(opened[0]!.peer?.userAgent, "wsrpc-interop");
    assert.equal(results.wrongServerKey.ok, true, results.wrongServerKey.error);
    assert.equal(results.wrongServerKey.value.handshake, true);
    assert.match(results.wrongServerKey.value.message, /server key mismatch/);
    // A server on another origin refuses the page (HTTP 403 before the upgrade).
    assert.equal(results.crossOrigin.ok, false);
    assert.match(results.crossOrigin.error, /ConnectionClosedError/);
    assert.equal(foreign.sessions.size, 0);

    // Subprotocols: the browser offered them, in the page's order.
    assert.deepEqual(offers, ["wsrpc.v1, wsrpc.v2", "chat, superchat", null]);
    // The server chose its preferred one among the offered, and the browser accepted its echo.
    assert.equal(results.protocolChosen.ok, true, results.protocolChosen.error);
    assert.deepEqual(results.protocolChosen.value, { protocol: "wsrpc.v2", timestamp: 4321 });
    // Offered none it speaks, the server answers without the header; RFC 6455
    // would let the client go on with protocol "", but Chromium fails the handshake.
    assert.equal(results.protocolNoneShared.ok, false);
    assert.match(
      results.protocolNoneShared.error,
      /^ConnectionClosedError: Cannot connect to .*: connection failed$/,
    );
    assert.match(stderr, /Sent non-empty 'Sec-WebSocket-Protocol' header but no response/);
    // Offering nothing still works with that server: protocol "".
    assert.equal(results.protocolNotOffered.ok, true, results.protocolNotOffered.error);
    assert.deepEqual(results.protocolNotOffered.value, { protocol: "", timestamp: 4321 });

    // examples/browser: the page made its own key, proved it, and made its calls.
    const demo = all.wsrpcDemo;
    assert.equal(demo.ok, true, demo.error);
    assert.deepEqual(example.sessions.map((s) => s.peer?.publicKey), [demo.publicKey]);
    assert.equal(example.sessions[0]!.peer?.userAgent, "wsrpc-browser-example");
    assert.deepEqual(demo.log.slice(1), [
      "connected, server key verified",
      demo.log[2], // the ping's timestamps
      'push  -> {"seq":1}',
      'push  -> {"seq":2}',
      "error -> demo failure, as requested",
      "done",
    ]);
    assert.match(demo.log[2], /^ping {2}-> \{"origintimestamp":\d+,"timestamp":\d+\}$/);
  } finally {
    await Promise.all(
      [plain, authenticated, foreign, chooser].map((s) => s.shutdown({ graceMs: 0 })),
    );
    await http?.shutdown();
    await other?.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
