/** `wsrpc listen`, in-process: pushes as JSON lines, --count, subscriptions, closes, a gone reader. */
import assert from "node:assert/strict";
import { main } from "../../lib/cli/_main.ts";
import { assertExit, fakeIO, serve, wsrpc } from "./_fake_io.ts";

Deno.test("wsrpc listen --count prints each push as one JSON line", async () => {
  const server = await serve();
  try {
    const r = await wsrpc([
      "listen",
      server.url,
      "demo-notify-request",
      '{"count":3}',
      "--count",
      "3",
    ]);
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
  } finally {
    await server.stop();
  }
});

Deno.test("wsrpc listen exits 1 when the subscription request fails", async () => {
  const server = await serve();
  try {
    const r = await wsrpc(["listen", server.url, "demo-fail-request", "-n", "1"]);
    assertExit(r, 1);
    assert.equal(r.stderr, "wsrpc: demo failure, as requested\n");
    assert.equal(r.stdout, "");
  } finally {
    await server.stop();
  }
});

Deno.test("wsrpc listen without --count exits 0 when the server closes normally", async () => {
  const server = await serve();
  let stopped = false;
  try {
    const io = fakeIO();
    const listening = main(
      ["listen", server.url, "demo-notify-request", '{"count":2}', "-v"],
      io,
    );
    await io.waitFor("stdout", (t) => t.split("\n").length > 2);
    const { code } = await server.stop("SIGTERM");
    stopped = true;
    assert.equal(code, 0);
    assert.equal(await listening, 0, io.stderr);
    assert.equal(io.stdout.trimEnd().split("\n").length, 2);
    assert.match(io.stderr, /\* closed 1001 "server shutting down"/);
  } finally {
    if (!stopped) await server.stop();
  }
});

Deno.test("wsrpc listen with --count fails when the server closes first", async () => {
  const server = await serve();
  let stopped = false;
  try {
    const io = fakeIO();
    const listening = main(
      ["listen", server.url, "demo-notify-request", '{"count":1}', "--count", "5"],
      io,
    );
    await io.waitFor("stdout", (t) => t.includes('"seq":1}'));
    await server.stop("SIGTERM");
    stopped = true;
    assert.equal(await listening, 1);
    assert.equal(
      io.stderr,
      'wsrpc: connection closed after 1 message: 1001 "server shutting down"\n',
    );
  } finally {
    if (!stopped) await server.stop();
  }
});

Deno.test("wsrpc listen stops quietly when its reader goes away", async () => {
  const server = await serve();
  try {
    const io = fakeIO({ brokenPipe: true });
    const code = await main(
      ["listen", server.url, "demo-notify-request", '{"count":10000}'],
      io,
    );
    assert.equal(code, 0);
    assert.equal(io.stderr, "");
  } finally {
    await server.stop();
  }
});
