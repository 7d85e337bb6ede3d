/**
 * The frame layer (lib/_frames.ts) over the in-memory socket pair: limits and
 * the close codes they send, the read queue, delivery to a listener,
 * backpressure and writes made while connecting. No port is bound.
 */
import assert from "node:assert/strict";
import { ConnectionClosedError } from "../mod.ts";
import { type FrameListener, FrameSocket, truncateReason } from "../lib/_frames.ts";
import type { WSConnOptions } from "../lib/ws_conn.ts";
import { socketPair, type TestSocket } from "./_socket_pair.ts";

/** Lets the pair deliver what is queued (it delivers in later tasks). */
const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));
/** Lets the pair deliver a few frames (one per task). */
const ticks = async (n = 8) => {
  for (let i = 0; i < n; i++) await tick();
};

/** A FrameSocket on the server end (which may send any close code), and both ends. */
function serverFrames(
  options: WSConnOptions = {},
): { frames: FrameSocket; client: TestSocket; server: TestSocket } {
  const [client, server] = socketPair();
  return { frames: new FrameSocket(server, options), client, server };
}

/** JSON text of exactly `length` UTF-16 code units (ASCII: as many bytes). */
function jsonOfLength(length: number): string {
  return JSON.stringify("x".repeat(length - 2));
}

/** Records what a listener hears, as short strings. */
function recorder(): { listener: FrameListener; heard: string[] } {
  const heard: string[] = [];
  return {
    heard,
    listener: {
      value: (value, length) => heard.push(`value ${JSON.stringify(value)} ${length}`),
      end: (error) =>
        heard.push(
          error instanceof ConnectionClosedError
            ? `end ${error.code} ${error.reason}`
            : `end ${(error as Error).name}`,
        ),
    },
  };
}

Deno.test("FrameSocket accepts frames within readLimit and maxDepth and closes past them", async (t) => {
  const cases: {
    name: string;
    options: WSConnOptions;
    frame: string | ArrayBuffer;
    value?: unknown;
    close?: { code: number; reason: string };
  }[] = [
    {
      name: "at readLimit",
      options: { readLimit: 16 },
      frame: jsonOfLength(16),
      value: "x".repeat(14),
    },
    {
      name: "one byte over readLimit",
      options: { readLimit: 16 },
      frame: jsonOfLength(17),
      close: { code: 1009, reason: "read limited at 16 bytes" },
    },
    {
      name: "short in UTF-16, over readLimit in UTF-8",
      options: { readLimit: 16 },
      frame: JSON.stringify("é".repeat(8)), // 10 code units, 18 bytes
      close: { code: 1009, reason: "read limited at 16 bytes" },
    },
    { name: "at maxDepth", options: { maxDepth: 2 }, frame: "[[1]]", value: [[1]] },
    {
      name: "one level past maxDepth",
      options: { maxDepth: 2 },
      frame: "[[[1]]]",
      close: { code: 1009, reason: "JSON nested deeper than 2 levels" },
    },
    {
      name: "a binary frame",
      options: {},
      frame: new Uint8Array([1, 2, 3]).buffer,
      close: { code: 1003, reason: "expected text message" },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const { frames, client, server } = serverFrames(c.options);
      server.inject('"before"');
      server.inject(c.frame);
      assert.equal(await frames.readJSON(), "before"); // what came before is still read
      if (c.close === undefined) {
        assert.deepEqual(await frames.readJSON(), c.value);
        frames.close();
      } else {
        const error = await frames.readJSON().catch((e) => e);
        assert.ok(error instanceof ConnectionClosedError);
        assert.deepEqual({ code: error.code, reason: error.reason }, c.close);
        assert.deepEqual(await frames.closed, c.close);
        assert.deepEqual(client.closeStatus, c.close); // the peer learns why
      }
      await frames.closed;
    });
  }
});

Deno.test("FrameSocket to a listener: nesting at maxDepth passes, past it closes 1009, also when not JSON", async (t) => {
  const big = "9223372036854775809";
  // Deep enough that JSON.parse's reviver (the bigint path) runs out of stack.
  const stackDeep = "[".repeat(20_000) + big + "]".repeat(20_000);
  const cases: { name: string; maxDepth: number; frame: string; heard: string }[] = [
    { name: "at maxDepth", maxDepth: 2, frame: "[[1]]", heard: "value [[1]] 5" },
    { name: "at maxDepth, empty", maxDepth: 2, frame: '{"a":[]}', heard: 'value {"a":[]} 8' },
    {
      name: "one level past maxDepth",
      maxDepth: 2,
      frame: "[[[1]]]",
      heard: "end 1009 JSON nested deeper than 2 levels",
    },
    {
      name: "past maxDepth in a later branch",
      maxDepth: 2,
      frame: '[1,{"a":[2]},[[]]]',
      heard: "end 1009 JSON nested deeper than 2 levels",
    },
    {
      name: "past maxDepth and not JSON",
      maxDepth: 2,
      frame: "[[[1]]", // long enough to be scanned (6 = 2 * (2 + 1))
      heard: "end 1009 JSON nested deeper than 2 levels",
    },
    { name: "at maxDepth and not JSON", maxDepth: 2, frame: "[[1]", heard: "end SyntaxError" },
    {
      name: "past maxDepth, with a bigint the reviver would overflow the stack on",
      maxDepth: 64,
      frame: stackDeep,
      heard: "end 1009 JSON nested deeper than 64 levels",
    },
    {
      name: "within maxDepth, the reviver overflows the stack: not JSON to us",
      maxDepth: 1_000_000,
      frame: stackDeep,
      heard: "end SyntaxError",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const { frames, client, server } = serverFrames({ maxDepth: c.maxDepth });
      const { listener, heard } = recorder();
      frames.listen(listener);
      server.inject(c.frame);
      await ticks();
      assert.deepEqual(heard, [c.heard]);
      if (c.heard.startsWith("end 1009")) {
        assert.equal(client.closeStatus?.code, 1009);
      } else if (c.heard === "end SyntaxError") {
        assert.equal(client.closeStatus?.code, 1007);
      } else frames.close();
      await frames.closed;
    });
  }
});

Deno.test("FrameSocket readQueueLimit: an empty queue takes any frame, a full one closes with 1008", async (t) => {
  // Each queued frame counts as its length plus 64.
  const cases = [
    { name: "a frame larger than the limit, into an empty queue", limit: 100, lengths: [500] },
    { name: "frames exactly at the limit", limit: 328, lengths: [100, 100] },
    { name: "one byte past the limit", limit: 327, lengths: [100, 100], full: true },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const { frames, server, client } = serverFrames({ readQueueLimit: c.limit });
      for (const length of c.lengths) server.inject(jsonOfLength(length));
      await tick();
      if (c.full) {
        const status = { code: 1008, reason: "read queue full: peer sends faster than it reads" };
        assert.deepEqual(await frames.closed, status);
        assert.deepEqual(client.closeStatus, status);
        // What the flooding peer queued is dropped, not read.
        await assert.rejects(
          frames.readJSON(),
          (e) => e instanceof ConnectionClosedError && e.code === 1008,
        );
        return;
      }
      for (const length of c.lengths) assert.equal(await frames.readJSON(), "x".repeat(length - 2));
      frames.close();
      await frames.closed;
    });
  }
});

Deno.test("FrameSocket closes with 1007 on text that is not JSON, for a reader and for a listener", async () => {
  const pulled = serverFrames();
  pulled.server.inject("{not json");
  await assert.rejects(pulled.frames.readJSON(), SyntaxError);
  assert.deepEqual(await pulled.frames.closed, { code: 1007, reason: "failed to unmarshal JSON" });

  const listened = serverFrames();
  const { listener, heard } = recorder();
  listened.frames.listen(listener);
  listened.server.inject("1");
  listened.server.inject("{not json");
  listened.server.inject("2"); // after the close: never delivered
  assert.deepEqual(await listened.frames.closed, {
    code: 1007,
    reason: "failed to unmarshal JSON",
  });
  // It hears of the SyntaxError, once, and not of the close it caused.
  assert.deepEqual(heard, ["value 1 1", "end SyntaxError"]);
});

Deno.test("FrameSocket on a client socket sends 4000 + n for codes it may not send", async (t) => {
  const cases = [
    { code: 1009, sent: 4009 },
    { code: 1011, sent: 4011 },
    { code: 1000, sent: 1000 },
    { code: 4001, sent: 4001 },
    { code: 2999, sent: 1005, reason: "" }, // no 4000 + n form: closed without a code
  ];
  for (const c of cases) {
    await t.step(`${c.code} goes out as ${c.sent}`, async () => {
      const [client, server] = socketPair();
      const frames = new FrameSocket(client);
      frames.close(c.code, "why");
      // Locally the connection ended with the code asked for.
      await assert.rejects(
        frames.readJSON(),
        (e) => e instanceof ConnectionClosedError && e.code === c.code,
      );
      await frames.closed;
      assert.deepEqual(server.closeStatus, { code: c.sent, reason: c.reason ?? "why" });
    });
  }
});

Deno.test("FrameSocket on a client socket reports an oversized frame to the peer as 4009", async () => {
  const [client, server] = socketPair();
  const frames = new FrameSocket(client, { readLimit: 8 });
  server.send(jsonOfLength(9));
  const error = await frames.readJSON().catch((e) => e);
  assert.ok(error instanceof ConnectionClosedError && error.code === 1009);
  await frames.closed;
  assert.deepEqual(server.closeStatus, { code: 4009, reason: "read limited at 8 bytes" });
});

Deno.test("FrameSocket.listen() delivers queued frames first, then live ones, then the end once", async () => {
  const { frames, server, client } = serverFrames();
  server.inject("1");
  server.inject('"two"');
  await tick();
  const { listener, heard } = recorder();
  frames.listen(listener);
  assert.deepEqual(heard, ["value 1 1", 'value "two" 5']); // synchronously, in order
  server.inject("[3]");
  await tick();
  assert.deepEqual(heard.at(-1), "value [3] 3");
  client.close(4000, "bye");
  await frames.closed;
  assert.deepEqual(heard, ["value 1 1", 'value "two" 5', "value [3] 3", "end 4000 bye"]);
});

Deno.test("FrameSocket.listen() after the close delivers what arrived before it, then the end", async () => {
  const { frames, server, client } = serverFrames();
  server.inject('"a"');
  await tick();
  client.close(4001, "done");
  await frames.closed;
  const { listener, heard } = recorder();
  frames.listen(listener);
  assert.deepEqual(heard, ['value "a" 3', "end 4001 done"]);
});

Deno.test("FrameSocket has one reader: listen() and readJSON() refuse each other", async () => {
  const { frames } = serverFrames();
  const controller = new AbortController();
  const read = frames.readJSON(controller.signal);
  assert.throws(() => frames.listen(recorder().listener), /already has a reader/);
  controller.abort(new Error("stop"));
  await assert.rejects(read, /stop/);
  frames.listen(recorder().listener);
  assert.throws(() => frames.listen(recorder().listener), /already has a reader/);
  await assert.rejects(frames.readJSON(), /delivered to a listener/);
  frames.close();
  await frames.closed;
});

Deno.test("FrameSocket holds writes while the peer does not read and sends them in order when it does", async () => {
  const { frames, server, client } = serverFrames({ writeHighWaterMark: 16 * 1024 });
  const received: string[] = [];
  client.addEventListener("message", (e) => received.push((e as MessageEvent).data));
  server.hold();
  const sent: string[] = [];
  for (let i = 0; i < 1_000 && frames.sendText(jsonOfLength(100)); i++) {
    sent.push(jsonOfLength(100));
  }
  assert.ok(sent.length > 1 && sent.length < 1_000, `sent ${sent.length} before the mark`);
  let written = false;
  const write = frames.writeText('"waited"').then(() => written = true);
  const failures: unknown[] = [];
  frames.queueText('"queued"', () => false, (e) => failures.push(e));
  frames.queueText('"withdrawn"', () => true, (e) => failures.push(e));
  assert.equal(frames.sendText('"later"'), false, "earlier writes wait: no overtaking");
  await tick(20);
  assert.equal(written, false);
  assert.deepEqual(received, []);
  server.release();
  await write;
  await tick(20);
  assert.deepEqual(received, [...sent, '"waited"', '"queued"']);
  assert.deepEqual(failures, []);
  frames.close();
  await frames.closed;
});

Deno.test("FrameSocket lets no write overtake one waiting for room", async () => {
  const { frames, client } = serverFrames();
  const received: string[] = [];
  client.addEventListener("message", (e) => received.push((e as MessageEvent).data));
  frames.queueText('"first"', () => false, () => {}); // waits for the next pump
  assert.equal(frames.sendText('"second"'), false, "the buffer has room, but a write waits");
  await frames.writeText('"second"');
  await ticks();
  assert.deepEqual(received, ['"first"', '"second"']);
  frames.close();
  await frames.closed;
});

Deno.test("FrameSocket closes with 1008 when the peer reads nothing for writeTimeoutMs", async () => {
  const { frames, server } = serverFrames({ writeHighWaterMark: 1024, writeTimeoutMs: 50 });
  server.hold();
  while (frames.sendText(jsonOfLength(100)));
  assert.equal(frames.writeStalledMs, 0, "no write waits yet");
  const failures: unknown[] = [];
  frames.queueText('"queued"', () => false, (e) => failures.push(e));
  await tick(20);
  assert.ok(frames.writeStalledMs >= 15, `stalled ${frames.writeStalledMs} ms`);
  const error = await frames.writeText('"waited"').catch((e) => e);
  assert.ok(error instanceof ConnectionClosedError);
  assert.equal(error.code, 1008);
  assert.equal(error.reason, "write timed out: peer is not reading");
  assert.deepEqual(failures, [error]);
  assert.throws(() => frames.sendText("1"), ConnectionClosedError);
  server.drop(); // the close frame is stuck behind the held frames
  await frames.closed;
});

Deno.test("FrameSocket sends the writes made while connecting once the socket opens", async () => {
  const [client, server] = socketPair({ connecting: true });
  const frames = new FrameSocket(client);
  const received: string[] = [];
  server.addEventListener("message", (e) => received.push((e as MessageEvent).data));
  await frames.writeJSON({ n: 1 });
  assert.equal(frames.sendText('{"n":2}'), true);
  assert.equal(frames.isOpen, false);
  assert.deepEqual(client.sent, []); // a connecting socket would throw on send
  client.open();
  await ticks();
  assert.deepEqual(received, ['{"n":1}', '{"n":2}']);
  assert.equal(frames.isOpen, true);
  frames.close();
  await frames.closed;
});

Deno.test("FrameSocket over a socket that is already closed reports 1006", async () => {
  const [client] = socketPair();
  client.drop();
  await tick();
  const frames = new FrameSocket(client);
  assert.deepEqual(await frames.closed, { code: 1006, reason: "" });
  await assert.rejects(
    frames.readJSON(),
    (e) => e instanceof ConnectionClosedError && e.code === 1006,
  );
});

Deno.test("truncateReason() cuts close reasons to 123 UTF-8 bytes on a character boundary", () => {
  const cases: [string, string][] = [
    ["", ""],
    ["a".repeat(123), "a".repeat(123)],
    ["a".repeat(124), "a".repeat(123)],
    ["é".repeat(100), "é".repeat(61)], // 2 bytes each: 122, the 62nd would split at 123
    ["a" + "€".repeat(41), "a" + "€".repeat(40)], // 3 bytes each: 1 + 120
  ];
  for (const [reason, cut] of cases) assert.equal(truncateReason(reason), cut);
});
