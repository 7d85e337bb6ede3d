// HandlerContext (lib/_request_context.ts): the context a handler gets, with
// its signal made on first use, aborted by timeout, cancel or session end.
import assert from "node:assert/strict";
import { Session } from "../mod.ts";
import type { SessionLink } from "../lib/session.ts";
import { HandlerContext } from "../lib/_request_context.ts";
import type { demoAPI } from "../lib/demo.ts";

function session(): Session<typeof demoAPI> {
  const link: SessionLink = {
    peer: undefined,
    inFlight: 0,
    closed: new Promise(() => {}),
    sendText: () => true,
    write: () => Promise.resolve(),
    close: () => {},
  };
  return new Session<typeof demoAPI>("1", {}, link);
}

Deno.test("HandlerContext: id, command, session and trace; no payload held", () => {
  const s = session();
  const trace = { traceparent: "00-" + "a".repeat(32) + "-" + "b".repeat(16) + "-01" };
  const context = new HandlerContext<typeof demoAPI>(
    "7",
    "demo-echo-request",
    s,
    trace,
    undefined,
    1000,
  );
  assert.equal(context.id, "7");
  assert.equal(context.command, "demo-echo-request");
  assert.equal(context.session, s);
  assert.equal(context.trace, trace);
  // Only these own fields: nothing that could keep a request's payload alive.
  assert.deepEqual(Object.keys(context).sort(), ["cancel", "command", "id", "session", "trace"]);
  context.clear(); // no timer was made: nothing to stop, no error
});

Deno.test("HandlerContext: the signal times out with a TimeoutError naming the command", async () => {
  const context = new HandlerContext<typeof demoAPI>(
    "7",
    "demo-echo-request",
    session(),
    undefined,
    undefined,
    5,
  );
  const signal = context.signal;
  assert.equal(context.signal, signal, "made once");
  await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  assert.equal((signal.reason as DOMException).name, "TimeoutError");
  assert.match(
    (signal.reason as Error).message,
    /Request "demo-echo-request" timed out after 5 ms/,
  );
});

Deno.test("HandlerContext: cancel and the session's end abort the signal; clear stops the timer", () => {
  const cancel = new AbortController();
  const cancelled = new HandlerContext<typeof demoAPI>(
    "1",
    "demo-echo-request",
    session(),
    undefined,
    cancel,
    60_000,
  );
  const signal = cancelled.signal;
  cancel.abort(new Error("cancelled by client"));
  assert.equal(signal.aborted, true);
  assert.match((signal.reason as Error).message, /cancelled by client/);
  cancelled.clear();

  const s = session();
  const ended = new HandlerContext<typeof demoAPI>(
    "2",
    "demo-echo-request",
    s,
    undefined,
    undefined,
    60_000,
  );
  const endSignal = ended.signal;
  s.close(1000, "bye");
  assert.equal(endSignal.aborted, true);
  ended.clear(); // the 60 s timer is gone: the test would leak it otherwise
});
