import assert from "node:assert/strict";
import { CallTable, responseCommand } from "../lib/_call_table.ts";
import { MAX_TIMER_DELAY } from "../lib/_deadline.ts";
import { defineAPI, InvalidCommandError, ProtocolError, schemalessAPI, unchecked } from "../mod.ts";
import { FakeTimers } from "./_fake_timers.ts";

const api = defineAPI({
  "x-echo-request": unchecked<unknown>(),
  "x-echo-response": unchecked<unknown>(),
  "x-event-notification": unchecked<unknown>(),
  "x-lonely-request": unchecked<unknown>(),
});

/** Records how each promise settles, synchronously visible after a microtask flush. */
function track(promise: Promise<unknown>): { outcome?: string; error?: unknown; value?: unknown } {
  const record: { outcome?: string; error?: unknown; value?: unknown } = {};
  promise.then(
    (value) => Object.assign(record, { outcome: "resolved", value }),
    (error) => Object.assign(record, { outcome: "rejected", error }),
  );
  return record;
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("CallTable.newID() counts from 1 and wraps past 2^53 - 1 to 1, skipping 0", () => {
  const table = new CallTable(api);
  assert.deepEqual([table.newID(), table.newID(), table.newID()], ["1", "2", "3"]);
  const near = new CallTable(api, new FakeTimers(), Number.MAX_SAFE_INTEGER - 1);
  assert.deepEqual([near.newID(), near.newID(), near.newID()], [
    String(Number.MAX_SAFE_INTEGER),
    "1",
    "2",
  ]);
});

Deno.test("responseCommand() names x-response for x-request only when the API has it", () => {
  const cases: [string, string | undefined][] = [
    ["x-echo-request", "x-echo-response"],
    ["x-lonely-request", undefined], // no x-lonely-response in the API
    ["x-event-notification", undefined],
    ["request", undefined],
  ];
  for (const [command, expected] of cases) assert.equal(responseCommand(api, command), expected);
  // Schemaless, the naming convention still applies.
  assert.equal(responseCommand(schemalessAPI, "a-b-request"), "a-b-response");
});

Deno.test("CallTable.settle() resolves with the payload of the response command", async () => {
  const table = new CallTable(api, new FakeTimers());
  const call = table.open(table.newID(), "x-echo-request", true, 0);
  assert.equal(table.size, 1);
  assert.equal(
    table.settle({ command: "x-echo-response", id: "1", payload: "hi" }, undefined),
    true,
  );
  assert.equal(await call.promise, "hi");
  assert.equal(table.size, 0);
  assert.equal(table.holds(call), false);
});

Deno.test("CallTable.settle() returns false for messages that answer no call (pushes)", () => {
  const table = new CallTable(api, new FakeTimers());
  table.open(table.newID(), "x-echo-request", true, 0);
  const cases: [unknown, unknown][] = [
    [{ command: "x-event-notification", id: "", payload: 1 }, undefined],
    [{ command: "x-echo-response", id: "999", payload: 1 }, undefined],
    [undefined, new InvalidCommandError("bad", { command: "zz" })], // no id
    [undefined, new SyntaxError("not a message")],
  ];
  for (const [message, error] of cases) {
    assert.equal(table.settle(message as never, error), false, JSON.stringify(message));
  }
  assert.equal(table.size, 1);
});

Deno.test("CallTable.settle() rejects on an error payload unless rejectErrors is false", async () => {
  const table = new CallTable(api, new FakeTimers());
  const strict = table.open("1", "x-echo-request", true, 0);
  const lenient = table.open("2", "x-echo-request", false, 0);
  const payload = { error: { message: "no such block" } };
  table.settle({ command: "x-echo-response", id: "1", payload }, undefined);
  table.settle({ command: "x-echo-response", id: "2", payload }, undefined);
  await assert.rejects(
    strict.promise,
    (e) => e instanceof ProtocolError && e.message === "no such block",
  );
  assert.deepEqual(await lenient.promise, payload);
  // An `error` of null is no error.
  const nullError = table.open("3", "x-echo-request", true, 0);
  table.settle({ command: "x-echo-response", id: "3", payload: { error: null } }, undefined);
  assert.deepEqual(await nullError.promise, { error: null });
});

Deno.test("CallTable.settle() rejects a reply on the call's id with another command", async () => {
  const table = new CallTable(api, new FakeTimers());
  const call = table.open("1", "x-echo-request", true, 0);
  table.settle({ command: "x-event-notification", id: "1", payload: "wrong" }, undefined);
  const error = await call.promise.catch((e) => e);
  assert.ok(error instanceof InvalidCommandError);
  assert.equal(
    error.message,
    'invalid command: response "x-event-notification" to call 1, expected "x-echo-response"',
  );
  assert.deepEqual([error.command, error.id], ["x-event-notification", "1"]);
  // Without a response command in the API, any command on the id answers it.
  const lonely = table.open("2", "x-lonely-request", true, 0);
  table.settle({ command: "x-event-notification", id: "2", payload: "any" }, undefined);
  assert.equal(await lonely.promise, "any");
});

Deno.test("CallTable.settle() rejects the call whose reply failed to decode, by its id", async () => {
  const table = new CallTable(api, new FakeTimers());
  const call = table.open("1", "x-echo-request", true, 0);
  const invalid = new InvalidCommandError("bad payload", { command: "x-echo-response", id: "1" });
  assert.equal(table.settle(undefined, invalid), true);
  await assert.rejects(call.promise, (e) => e === invalid);
});

Deno.test("CallTable times out each call at its own deadline under one shared timer", async () => {
  const timers = new FakeTimers();
  const table = new CallTable(api, timers);
  const long = track(table.open("1", "x-echo-request", true, 3_000).promise);
  const short = track(table.open("2", "x-echo-request", true, 1_000).promise);
  const shorter = track(table.open("3", "x-echo-request", true, 60).promise);
  const none = track(table.open("4", "x-echo-request", true, 0).promise);
  const never = track(table.open("5", "x-echo-request", true, Infinity).promise);
  assert.equal(timers.active, 1, "one timer, moved earlier for each earlier deadline");
  assert.deepEqual(timers.delays, [3_000, 1_000, 60]);
  timers.advance(59);
  await flush();
  assert.equal(shorter.outcome, undefined, "not before its deadline");
  timers.advance(1);
  await flush();
  assert.equal(shorter.outcome, "rejected");
  assert.equal((shorter.error as Error).name, "TimeoutError");
  assert.equal((shorter.error as Error).message, 'Call "x-echo-request" timed out after 60 ms');
  assert.equal(short.outcome, undefined, "a later deadline is not swept early");
  timers.advance(940);
  await flush();
  assert.equal(short.outcome, "rejected");
  assert.match((short.error as Error).message, /timed out after 1000 ms/);
  table.settle({ command: "x-echo-response", id: "1", payload: "in time" }, undefined);
  await flush();
  assert.equal(long.value, "in time");
  timers.advance(1e9);
  assert.equal(timers.active, 0, "no deadline left: the timer is not re-armed");
  await flush();
  assert.equal(none.outcome, undefined, "timeoutMs 0: no timeout");
  assert.equal(never.outcome, undefined, "timeoutMs Infinity: no timeout");
  assert.equal(table.size, 2);
});

Deno.test("CallTable: calls made one at a time share the armed timer (no timer per call)", async () => {
  const timers = new FakeTimers();
  const table = new CallTable(api, timers);
  for (let i = 1; i <= 5; i++) {
    const call = track(table.open(String(i), "x-echo-request", true, 1_000).promise);
    table.settle({ command: "x-echo-response", id: String(i), payload: i }, undefined);
    await flush();
    assert.equal(call.value, i);
    timers.advance(10);
  }
  assert.deepEqual(timers.delays, [1_000], "armed once, for the first deadline");
  timers.advance(1e6);
  assert.equal(timers.active, 0, "it fired, found nothing due and stopped");
  const late = track(table.open("6", "x-echo-request", true, 50).promise);
  timers.advance(50);
  await flush();
  assert.equal(late.outcome, "rejected", "a later call still times out");
});

Deno.test("CallTable caps its timer at 2^31 - 1 ms and re-arms for a later deadline", async () => {
  const timers = new FakeTimers();
  const table = new CallTable(api, timers);
  const call = track(table.open("1", "x-echo-request", true, 3e9).promise);
  assert.deepEqual(timers.delays, [MAX_TIMER_DELAY]);
  timers.advance(MAX_TIMER_DELAY);
  await flush();
  assert.equal(call.outcome, undefined, "woke early, found nothing due");
  assert.deepEqual(timers.delays, [MAX_TIMER_DELAY, 3e9 - MAX_TIMER_DELAY]);
  timers.advance(3e9 - MAX_TIMER_DELAY);
  await flush();
  assert.equal(call.outcome, "rejected");
  assert.match((call.error as Error).message, /timed out after 3000000000 ms/);
});

Deno.test("CallTable.failAll() rejects every pending call and stops the timer", async () => {
  const timers = new FakeTimers();
  const table = new CallTable(api, timers);
  const calls = [1, 2, 3].map((n) => table.open(String(n), "x-echo-request", true, 1_000));
  const error = new Error("gone");
  table.failAll(error);
  assert.equal(table.size, 0);
  assert.equal(timers.active, 0);
  for (const call of calls) await assert.rejects(call.promise, (e) => e === error);
});

Deno.test("CallTable.fail() and forget() remove a call; the timer stays armed until it fires", async () => {
  const timers = new FakeTimers();
  const table = new CallTable(api, timers);
  const a = table.open("1", "x-echo-request", true, 1_000);
  const b = table.open("2", "x-echo-request", true, 1_000);
  const error = new Error("could not send");
  table.fail(a, error);
  await assert.rejects(a.promise, (e) => e === error);
  assert.equal(table.holds(a), false);
  assert.equal(timers.active, 1, "b still has a deadline");
  table.forget("2");
  assert.equal(table.holds(b), false);
  assert.equal(timers.active, 1, "left armed for the next call");
  timers.advance(1_000);
  assert.equal(timers.active, 0, "fired with nothing due: not re-armed");
  // fail() after the call settled leaves the table alone.
  const c = table.open("3", "x-echo-request", true, 0);
  table.settle({ command: "x-echo-response", id: "3", payload: 1 }, undefined);
  const d = table.open("4", "x-echo-request", true, 0);
  table.fail(c, error);
  assert.equal(await c.promise, 1);
  assert.ok(table.holds(d));
});
