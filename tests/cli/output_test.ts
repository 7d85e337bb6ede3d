/**
 * What reaches the terminal, in-process: a hostile server's text (error
 * messages, payloads, frames, close reasons, pushes) comes out without
 * terminal escapes or bidi controls, through the same writers the real
 * stdout and stderr use.
 */
import assert from "node:assert/strict";
import { closeStatus, errorText, formatJSON } from "../../lib/cli/_output.ts";
import { assertExit, type Result, wsrpc } from "./_fake_io.ts";

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
    await t.step("a ping command name and an error answer", async () => {
      const r = await wsrpc(["ping", url, "-c", "1", "--command", "x-error-request"]);
      assertExit(r, 1);
      assertSafe(r);
      assert.ok(r.stdout.includes(`seq=1 ${shown}\n`), r.stdout);
    });
  } finally {
    await http.shutdown();
  }
});

Deno.test("formatJSON, errorText and closeStatus", () => {
  const big = { n: 18446744073709551615n, m: [-1n, 1.5] };
  assert.equal(formatJSON(big, false), '{"n":18446744073709551615,"m":[-1,1.5]}');
  assert.equal(formatJSON([2n ** 64n], true), "[\n  18446744073709551616\n]");
  assert.equal(formatJSON(undefined, false), "null");
  assert.equal(errorText({ error: { message: "boom", timestamp: 1 } }), "boom");
  assert.equal(errorText({ error: "plain" }), '"plain"');
  assert.equal(errorText({ error: null }), undefined);
  assert.equal(errorText([1]), undefined);
  assert.equal(errorText("text"), undefined);
  assert.equal(closeStatus(1000, ""), "1000");
  assert.equal(closeStatus(4000, "a\nb"), String.raw`4000 "a\nb"`);
  assert.equal(closeStatus(4000, "\u001b[2J"), String.raw`4000 "\u001b[2J"`);
});
