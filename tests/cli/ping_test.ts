/** `wsrpc ping`, in-process: round-trip lines, the summary, errors, SIGINT. */
import assert from "node:assert/strict";
import { main } from "../../lib/cli/_main.ts";
import { assertExit, fakeIO, serve, wsrpc } from "./_fake_io.ts";

Deno.test("wsrpc ping --count prints round-trip times and a summary", async () => {
  const server = await serve();
  const { url } = server;
  try {
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
  } finally {
    await server.stop();
  }
});

Deno.test("wsrpc ping --command with an error answer counts a loss and exits 1", async () => {
  const server = await serve();
  try {
    const r = await wsrpc([
      "ping",
      server.url,
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
  } finally {
    await server.stop();
  }
});

Deno.test("wsrpc ping without --count runs until SIGINT, then prints the summary", async () => {
  const server = await serve();
  try {
    const io = fakeIO();
    const pinging = main(["ping", server.url, "--interval", "50ms"], io);
    await io.waitFor("stdout", (t) => t.includes("seq=2 "));
    assert.equal(io.signal("SIGINT"), 1, "ping listens for SIGINT");
    assert.equal(await pinging, 0, io.stderr);
    assert.match(io.stdout, /^(\d+) sent, \1 received, 0% loss/m);
    assert.match(io.stdout, /^rtt min\/avg\/max\/mdev = /m);
    assert.equal(io.signal("SIGINT"), 0, "the listener is removed");
  } finally {
    await server.stop();
  }
});
