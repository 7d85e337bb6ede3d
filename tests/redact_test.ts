// What a client may see of the server's failures and what the log gets
// (lib/_redact.ts), as tables: no server, no socket.
import assert from "node:assert/strict";
import {
  ConnectionClosedError,
  errorf,
  HandshakeError,
  InternalError,
  ProtocolError,
  requestErrorf,
} from "../mod.ts";
import {
  handshakeRefusal,
  isWireSafe,
  logLine,
  redactHandlerError,
  redactInternal,
} from "../lib/_redact.ts";

const TRACE = /^[0-9a-f]{16}$/;
const UNSAFE = new RegExp(String.raw`[\u0000-\u001f\u2028]`);

Deno.test("redactHandlerError() shows the client only what it may see", () => {
  const secret = new Error("database password is hunter2");
  const request = requestErrorf("nothing to upper-case");
  const traced = errorf("disk %s is full", "sda");
  const cases: [
    name: string,
    error: unknown,
    wire: { message: string; trace: RegExp | "" | "same" },
    logged: "none" | "same" | RegExp,
  ][] = [
    [
      "a request error: as is, not logged",
      request,
      { message: "nothing to upper-case", trace: "" },
      "none",
    ],
    ["a traced protocol error: as is, logged", traced, {
      message: "disk sda is full",
      trace: "same",
    }, "same"],
    [
      "a plain error: internal error",
      secret,
      { message: "internal error", trace: TRACE },
      /hunter2/,
    ],
    [
      "a thrown string: internal error",
      "oops",
      { message: "internal error", trace: TRACE },
      /oops/,
    ],
    [
      "a timeout: request timed out",
      new DOMException('Request "x" timed out after 5 ms', "TimeoutError"),
      { message: "request timed out", trace: TRACE },
      /timed out after 5 ms/,
    ],
    [
      "another DOMException: internal error",
      new DOMException("gone", "AbortError"),
      { message: "internal error", trace: TRACE },
      /gone/,
    ],
  ];
  for (const [name, error, wire, logged] of cases) {
    const redacted = redactHandlerError(error);
    assert.ok(redacted.wire instanceof ProtocolError, name);
    assert.equal(redacted.wire.message, wire.message, name);
    if (wire.trace === "same") assert.equal(redacted.wire, error, name);
    else if (wire.trace === "") assert.equal(redacted.wire.trace, "", name);
    else assert.match(redacted.wire.trace, wire.trace, name);
    assert.ok(!String(redacted.wire).includes("hunter2"), name);
    if (logged === "none") assert.equal(redacted.log, undefined, name);
    else if (logged === "same") assert.equal(redacted.log, error, name);
    else {
      assert.match(String(redacted.log?.message), logged, name);
      // The operator finds the client's trace in the log.
      assert.ok(
        String(redacted.log?.message).includes(redacted.wire.trace) ||
          (redacted.log as ProtocolError).trace === redacted.wire.trace,
        name,
      );
    }
  }
  // An InternalError thrown by a handler keeps its own trace.
  const internal = new InternalError(secret);
  assert.equal(redactHandlerError(internal).wire, internal.protocolError());
  assert.equal(redactHandlerError(internal).log, internal);
});

Deno.test("redactInternal() wraps any failure anew: internal error on the wire, cause in the log", () => {
  const cause = new TypeError("Do not know how to serialize a BigInt");
  const { wire, log } = redactInternal(cause);
  assert.equal(wire.message, "internal error");
  assert.match(wire.trace, TRACE);
  assert.equal(log.cause, cause);
  assert.ok(log.message.includes(wire.trace));
  const twice = redactInternal(log);
  assert.notEqual(twice.wire.trace, wire.trace, "a fresh trace each time");
});

Deno.test("handshakeRefusal() quotes only wire-safe failures in the 4100 reason", () => {
  const refused = Object.assign(new Error("key refused"), { name: "PublicKeyRefusedError" });
  const cases: [name: string, error: unknown, open: boolean, reason: RegExp, logged: boolean][] = [
    ["a refused key", refused, true, /^invalid public key$/, false],
    [
      "the authenticator's verdict",
      new HandshakeError("bad signature"),
      true,
      /^handshake failed: .*bad signature/,
      false,
    ],
    [
      "a HandshakeError with a cause",
      new HandshakeError("wrapped", { cause: new Error("hunter2") }),
      true,
      /^handshake failed: .*internal error/,
      true,
    ],
    [
      "a timeout",
      new DOMException("Handshake timed out", "TimeoutError"),
      true,
      /^handshake failed: Handshake timed out$/,
      false,
    ],
    [
      "a closed connection",
      new ConnectionClosedError(1006, ""),
      true,
      /^handshake failed: /,
      false,
    ],
    [
      "an authorize callback that threw",
      new Error("hunter2"),
      true,
      /^handshake failed: internal error \[[0-9a-f]{16}:\d+\]$/,
      true,
    ],
    [
      "the same on a closed connection",
      new Error("socket gone"),
      false,
      /^handshake failed: socket gone$/,
      false,
    ],
    ["a thrown string", "hunter2", true, /^handshake failed: .*internal error/, true],
  ];
  for (const [name, error, open, reason, logged] of cases) {
    const verdict = handshakeRefusal(error, open);
    assert.match(verdict.reason, reason, name);
    if (open) assert.ok(!verdict.reason.includes("hunter2"), name);
    assert.equal(verdict.log !== undefined, logged, name);
  }
});

Deno.test("isWireSafe() tells the authenticator's own verdicts from internal failures", () => {
  const cases: [unknown, boolean][] = [
    [new HandshakeError("bad signature"), true],
    [new HandshakeError("x", { cause: new Error("y") }), false],
    [new DOMException("t", "TimeoutError"), true],
    [new ConnectionClosedError(1000, ""), true],
    [new Error("x"), false],
    ["x", false],
  ];
  for (const [error, expected] of cases) assert.equal(isWireSafe(error), expected, String(error));
});

Deno.test("logLine() keeps peer-supplied text on one safe line, the cause's stack after it", () => {
  const evil = "x\u001b]0;PWNED\u0007\u2028wsrpc: session 9: fake\ny";
  const [head, cause] = logLine(new InternalError(new Error(`no such name ${evil}`)), "3");
  assert.match(head, /^wsrpc: session 3: internal error: no such name /);
  assert.doesNotMatch(head, UNSAFE);
  assert.match(String(cause), /^Error: no such name x\\u001b/);
  assert.match(String(cause), /\n {4}at /, "the cause's stack frames follow");
  const [traced, none] = logLine(errorf("disk %s is full", "sda"), "4");
  assert.match(traced, /^wsrpc: session 4: .*disk sda is full/);
  assert.equal(none, "");
  const [, text] = logLine(new InternalError(evil), "5");
  assert.doesNotMatch(String(text), UNSAFE);
});
