/**
 * Connecting, in-process: the connection flags (--header, --read-limit,
 * --timeout, --key, --server-key), and exit codes 3 (cannot connect) and 4
 * (handshake failed).
 */
import assert from "node:assert/strict";
import { Server } from "../../lib/server.ts";
import { demoAPI, demoHandlers } from "../../lib/demo.ts";
import { createHandler } from "../../lib/deno.ts";
import { assertExit, serve, wsrpc } from "./_fake_io.ts";

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

Deno.test("wsrpc reports connection failures with exit 3 and a bad URL with exit 2", async (t) => {
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
    const hint = await wsrpc(["call", "not a url", "demo-ping-request"]);
    assert.match(hint.stderr, /\(expected ws:\/\/HOST:PORT\/PATH\) \(see "wsrpc call --help"\)/);
  });
});

Deno.test("wsrpc with ed25519 keys: mutual authentication, pinning and refusals", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "wsrpc_auth_" });
  const keys: Record<string, string> = {};
  const file = (name: string) => `${dir}/${name}`;
  for (const name of ["server", "client", "stranger"]) {
    const r = await wsrpc(["keygen", "--out", file(`${name}.key`)]);
    assertExit(r, 0);
    keys[name] = r.stdout.trim();
  }
  const server = await serve(["--key", file("server.key"), "--allow", file("client.key.pub")]);
  const plain = await serve();
  try {
    await t.step("a listed client that pins the right server key connects", async () => {
      const r = await wsrpc([
        "call",
        server.url,
        "demo-echo-request",
        '"hi"',
        "--key",
        file("client.key"),
        "--server-key",
        keys.server!,
      ]);
      assertExit(r, 0);
      assert.equal(r.stdout, '"hi"\n');
    });

    await t.step("--server-key also reads a .pub file; --verbose shows the handshake", async () => {
      const r = await wsrpc([
        "ping",
        server.url,
        "-c",
        "1",
        "--key",
        file("client.key"),
        "--server-key",
        file("server.key.pub"),
        "-v",
      ]);
      assertExit(r, 0);
      assert.match(r.stderr, /^> \{"header":\{"command":"ed25519-hello"\}/m);
      assert.match(r.stderr, /^< \{"header":\{"command":"ed25519-hello-challenge"\}/m);
    });

    await t.step("a wrong --server-key pin fails the handshake with exit 4", async () => {
      const r = await wsrpc([
        "call",
        server.url,
        "demo-ping-request",
        "--key",
        file("client.key"),
        "--server-key",
        keys.stranger!,
      ]);
      assertExit(r, 4);
      assert.match(r.stderr, /^wsrpc: failed to handshake with server: server key mismatch/);
      assert.equal(r.stdout, "");
    });

    await t.step("a key not on the allow-list is refused with exit 4", async () => {
      const r = await wsrpc([
        "call",
        server.url,
        "demo-ping-request",
        "--key",
        file("stranger.key"),
      ]);
      assertExit(r, 4);
      assert.match(r.stderr, /failed to handshake with server: .*invalid public key/);
    });

    await t.step("--server-key alone authenticates the server with an ephemeral key", async () => {
      // The server only allows client.key, so the ephemeral key is refused after the
      // server proved its key: the pin passed, the allow-list refused.
      const r = await wsrpc(["call", server.url, "x-request", "--server-key", keys.server!]);
      assertExit(r, 4);
      assert.match(r.stderr, /invalid public key/);
      const open = await serve(["--key", file("server.key")]);
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
      const r = await wsrpc(["call", plain.url, "demo-ping-request", "--key", file("client.key")]);
      assertExit(r, 4);
      assert.match(r.stderr, /^wsrpc: failed to handshake with server: /);
      assert.match(r.stderr, /the server does not authenticate clients: drop --key/);
    });

    await t.step("--server-key with a file of two keys is a usage error", async () => {
      const two = file("two.pub");
      await Deno.writeTextFile(two, `${keys.server}\n# a comment\n${keys.client}\n`);
      const r = await wsrpc(["call", server.url, "x-request", "--server-key", two]);
      assertExit(r, 2);
      assert.match(r.stderr, /^wsrpc: invalid --server-key: expected one key, got 2/);
    });
  } finally {
    const stopped = await server.stop();
    await plain.stop();
    await Deno.remove(dir, { recursive: true });
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.ok(stopped.stderr.includes(`server public key ${keys.server}`), stopped.stderr);
    assert.ok(stopped.stderr.includes("clients must authenticate with ed25519 (1 allowed key)"));
    assert.ok(stopped.stderr.includes(`key ${keys.client}`), "the session log names the client");
  }
});
