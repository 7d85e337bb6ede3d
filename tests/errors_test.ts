import assert from "node:assert/strict";
import {
  CloseCode,
  ConnectionClosedError,
  errorf,
  HandshakeError,
  InternalError,
  InvalidCommandError,
  notFoundError,
  ProtocolError,
  requestError,
  requestErrorf,
} from "../mod.ts";
import { PUBLIC_KEY_AUTH_ERROR } from "../lib/ed25519.ts";
import { STATUS_HANDSHAKE_ERR } from "../lib/errors.ts";
import { WS_CONNECT_TIMEOUT_MS, WS_HANDSHAKE_TIMEOUT_MS } from "../lib/message.ts";

Deno.test("ProtocolError has the Go wire shape and text form", async (t) => {
  await t.step("without a trace: trace omitted, text is the message", () => {
    const err = new ProtocolError("not found: block 00ab", { timestamp: 1732453000 });
    assert.equal(
      JSON.stringify({ error: err }),
      '{"error":{"timestamp":1732453000,"message":"not found: block 00ab"}}',
    );
    assert.equal(err.toString(), "not found: block 00ab");
  });
  await t.step("with a trace: message [trace:timestamp]", () => {
    const err = new ProtocolError("boom", { timestamp: 7, trace: "0123456789abcdef" });
    assert.equal(
      JSON.stringify(err),
      '{"timestamp":7,"trace":"0123456789abcdef","message":"boom"}',
    );
    assert.equal(String(err), "boom [0123456789abcdef:7]");
  });
  await t.step("timestamp defaults to now in unix seconds", () => {
    const before = Math.floor(Date.now() / 1000);
    const err = new ProtocolError("x");
    assert.ok(err.timestamp >= before && err.timestamp <= before + 1);
  });
  await t.step("fromJSON round-trips and rejects non-errors", () => {
    const wire = { timestamp: 9, trace: "ffffffffffffffff", message: "m" };
    assert.deepEqual(ProtocolError.fromJSON(wire)?.toJSON(), wire);
    assert.equal(ProtocolError.fromJSON(null), undefined);
    assert.equal(ProtocolError.fromJSON("boom"), undefined);
    assert.equal(ProtocolError.fromJSON({ message: 1 }), undefined);
    assert.equal(ProtocolError.fromJSON({ message: "m", trace: 5 }), undefined);
    assert.equal(
      ProtocolError.fromJSON({ message: "m", timestamp: 2n ** 62n })?.timestamp,
      2 ** 62,
    );
  });
});

Deno.test("errorf() makes a traced error with Go-style verbs", () => {
  const err = errorf("block %d at %v: %q %x %%", 42.9, "tip", 'a"b', 255);
  assert.equal(err.message, 'block 42 at tip: "a\\"b" ff %');
  assert.match(err.trace, /^[0-9a-f]{16}$/);
  assert.notEqual(errorf("x").trace, errorf("x").trace);
  assert.equal(errorf("%v and %v", 1).message, "1 and %!v(MISSING)");
});

Deno.test("requestError(), requestErrorf() and notFoundError() carry no trace", () => {
  assert.equal(requestError(new Error("bad height")).trace, "");
  assert.equal(requestError("bad height").message, "bad height");
  assert.equal(requestErrorf("invalid %s: %v", "height", -1).message, "invalid height: -1");
  const nf = notFoundError("block", "00ab");
  assert.equal(nf.message, "not found: block 00ab");
  assert.equal(nf.trace, "");
  assert.equal(notFoundError("tx", 5n).message, "not found: tx 5");
});

Deno.test("InternalError keeps its cause off the wire", () => {
  const err = new InternalError(new Error("db password is hunter2"));
  const wire = err.protocolError();
  assert.equal(wire.message, "internal error");
  assert.match(wire.trace, /^[0-9a-f]{16}$/);
  assert.ok(!JSON.stringify(wire).includes("hunter2"));
  assert.ok(err.message.includes("hunter2"), "the server log sees the cause");
  assert.ok(err.message.includes(wire.trace), "the log line carries the same trace");
  assert.equal(new InternalError("plain").message.startsWith("internal error: plain"), true);
});

Deno.test("the other error classes carry what callers need", () => {
  const hs = new HandshakeError("bad", { cause: new Error("inner") });
  assert.equal(hs.name, "HandshakeError");
  assert.equal((hs.cause as Error).message, "inner");
  const ic = new InvalidCommandError('unknown command "x"', { command: "x", id: "4" });
  assert.equal(ic.message, 'invalid command: unknown command "x"');
  assert.equal(ic.id, "4");
  const cc = new ConnectionClosedError(1009, "read limited at 10 bytes");
  assert.equal(cc.code, 1009);
  assert.equal(cc.message, 'Connection closed: 1009 "read limited at 10 bytes"');
  assert.equal(new ConnectionClosedError(1006, "", { message: "custom" }).message, "custom");
});

Deno.test("protocol constants match the Go package", () => {
  assert.equal(STATUS_HANDSHAKE_ERR, 4100);
  assert.deepEqual(PUBLIC_KEY_AUTH_ERROR, { code: 4100, reason: "invalid public key" });
  assert.ok(Object.isFrozen(PUBLIC_KEY_AUTH_ERROR));
  assert.equal(WS_CONNECT_TIMEOUT_MS, 20_000);
  assert.equal(WS_HANDSHAKE_TIMEOUT_MS, 15_000);
  assert.equal(CloseCode.HandshakeError, 4100);
});
