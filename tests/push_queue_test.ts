import assert from "node:assert/strict";
import {
  DEFAULT_PUSH_QUEUE_BYTES,
  DEFAULT_PUSH_QUEUE_SIZE,
  PUSH_OVERHEAD,
  PushQueue,
} from "../lib/_push_queue.ts";
import { ConnectionClosedError } from "../mod.ts";

const open = () => undefined;
const message = (seq: number) => ({ command: "x-event-notification", id: "", payload: seq });

async function drain(queue: PushQueue): Promise<unknown[]> {
  const seqs = [];
  while (queue.length > 0) seqs.push((await queue.next(undefined, open)).message?.payload);
  return seqs;
}

Deno.test("PushQueue defaults: 1024 pushes, 8 MiB, 64 bytes counted per push", () => {
  assert.equal(DEFAULT_PUSH_QUEUE_SIZE, 1024);
  assert.equal(DEFAULT_PUSH_QUEUE_BYTES, 8 * 1024 * 1024);
  assert.equal(PUSH_OVERHEAD, 64);
  const queue = new PushQueue();
  for (let seq = 1; seq <= 1030; seq++) queue.push(null, 10, message(seq), undefined);
  assert.equal(queue.length, 1024);
  assert.equal(queue.dropped, 6);
});

Deno.test("PushQueue.push() drops the oldest past the count bound and counts them", async () => {
  const queue = new PushQueue(5, Infinity);
  for (let seq = 1; seq <= 8; seq++) queue.push(null, 10, message(seq), undefined);
  assert.equal(queue.dropped, 3);
  assert.deepEqual(await drain(queue), [4, 5, 6, 7, 8]);
  assert.equal(queue.bytes, 0);
});

Deno.test("PushQueue.push() drops the oldest past the byte bound (length + 64 each)", async () => {
  const cases: [byteLimit: number, kept: number][] = [
    [74 * 3, 3], // exactly three fit
    [74 * 3 - 1, 2], // just under
    [74, 1],
    [1, 1], // the newest is always kept, whatever its size
  ];
  for (const [byteLimit, kept] of cases) {
    const queue = new PushQueue(Infinity, byteLimit);
    for (let seq = 1; seq <= 5; seq++) queue.push(null, 10, message(seq), undefined);
    assert.equal(queue.length, kept, `byteLimit ${byteLimit}`);
    assert.equal(queue.bytes, kept * 74);
    assert.equal(queue.dropped, 5 - kept);
    const last = Array.from({ length: kept }, (_, i) => 5 - kept + 1 + i);
    assert.deepEqual(await drain(queue), last, "the newest are kept, in order");
  }
});

Deno.test("PushQueue keeps the raw document and a decode error with their entry", async () => {
  const queue = new PushQueue();
  const error = new TypeError("bad");
  queue.push({ raw: 1 }, 7, message(1), undefined);
  queue.push({ raw: 2 }, 7, undefined, error);
  assert.deepEqual(await queue.next(undefined, open), {
    raw: { raw: 1 },
    size: 71,
    message: message(1),
  });
  assert.deepEqual(await queue.next(undefined, open), { raw: { raw: 2 }, size: 71, error });
});

Deno.test("PushQueue.next() waits for a push, one waiter woken per push", async () => {
  const queue = new PushQueue();
  const first = queue.next(undefined, open);
  const second = queue.next(undefined, open);
  queue.push("a", 1, message(1), undefined);
  assert.equal((await first).raw, "a");
  queue.push("b", 1, message(2), undefined);
  assert.equal((await second).raw, "b");
});

Deno.test("PushQueue.next() rejects with ended()'s error once empty, after wakeAll()", async () => {
  const queue = new PushQueue();
  let ended: Error | undefined;
  queue.push("left", 1, message(1), undefined);
  ended = new ConnectionClosedError(1000, "bye");
  assert.equal((await queue.next(undefined, () => ended)).raw, "left", "queued pushes first");
  ended = undefined;
  const waiting = queue.next(undefined, () => ended);
  ended = new ConnectionClosedError(1000, "bye");
  queue.wakeAll();
  await assert.rejects(waiting, (e) => e === ended);
});

Deno.test("PushQueue.next() rejects with the signal's reason, and forgets the waiter", async () => {
  const queue = new PushQueue();
  const controller = new AbortController();
  const waiting = queue.next(controller.signal, open);
  controller.abort(new Error("gave up"));
  await assert.rejects(waiting, /gave up/);
  await assert.rejects(queue.next(controller.signal, open), /gave up/, "aborted already");
  queue.push("x", 1, message(1), undefined);
  assert.equal(queue.length, 1, "the push was not handed to the aborted reader");
});
