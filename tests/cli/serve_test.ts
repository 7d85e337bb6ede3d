/** `wsrpc serve`, in-process: the URL line, graceful shutdown on a signal, the allowed hosts. */
import assert from "node:assert/strict";
import { main } from "../../lib/cli/_main.ts";
import { serveAllowedHosts } from "../../lib/cli/serve.ts";
import { fakeIO, serve } from "./_fake_io.ts";

Deno.test("wsrpc serve shuts down gracefully on SIGINT, letting a call finish", async () => {
  const server = await serve(["--verbose"]);
  const io = fakeIO();
  const calling = main(["call", server.url, "demo-sleep-request", '{"ms":800}', "-v"], io);
  // Wait until the request is on the wire, then interrupt the server.
  await io.waitFor("stderr", (t) => t.includes('> {"header":{"command":"demo-sleep-request"'));
  await new Promise((resolve) => setTimeout(resolve, 100));
  const stopped = await server.stop("SIGINT");
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stderr, /SIGINT: shutting down/);
  assert.match(stopped.stderr, /^session \d+ request 1 demo-sleep-request$/m, "--verbose logs");
  assert.match(stopped.stderr, /^session \d+ closed 100[01]/m);
  assert.equal(await calling, 0, io.stderr);
  assert.equal(io.stdout, '{"ms":800}\n');
});

Deno.test("wsrpc serve exits at once on a second signal while it shuts down", async () => {
  const server = await serve();
  assert.equal(server.io.signal("SIGINT"), 1);
  assert.deepEqual(server.io.exits, []);
  server.io.signal("SIGTERM"); // the second: the real process exits here, with 130
  assert.deepEqual(server.io.exits, [130]);
  const { code, stderr } = await server.stop();
  assert.equal(code, 0);
  assert.match(stderr, /^SIGINT: shutting down$/m);
  assert.equal(server.io.signal("SIGINT") + server.io.signal("SIGTERM"), 0, "listeners removed");
});

Deno.test("wsrpc serve exits 1 when it cannot listen", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = String((listener.addr as Deno.NetAddr).port);
    const io = fakeIO();
    assert.equal(await main(["serve", "--port", port], io), 1);
    assert.match(io.stderr, new RegExp(`^wsrpc: Cannot listen on 127\\.0\\.0\\.1:${port}: `));
    assert.equal(io.stdout, "");
  } finally {
    listener.close();
  }
});

Deno.test("serveAllowedHosts: loopback names by default on loopback, any host elsewhere", () => {
  const loopback = ["localhost", "127.0.0.1", "[::1]"];
  const cases: [string, string[], string[] | undefined][] = [
    ["127.0.0.1", [], [...loopback, "127.0.0.1"]],
    ["127.0.0.2", ["dev.test"], [...loopback, "127.0.0.2", "dev.test"]],
    ["localhost", [], [...loopback, "localhost"]],
    ["::1", [], [...loopback, "::1"]],
    ["[0:0:0:0:0:0:0:1]", [], [...loopback, "[0:0:0:0:0:0:0:1]"]],
    ["0.0.0.0", [], undefined],
    ["0.0.0.0", ["example.net"], ["example.net"]],
    ["192.0.2.1", [], undefined],
  ];
  for (const [hostname, extra, expected] of cases) {
    assert.deepEqual(serveAllowedHosts(hostname, extra), expected, hostname);
  }
});
