// Session (lib/session.ts): a plain class over the SessionLink its server
// gives it, tested with a fake link; and its pushes over the in-memory pair.
import assert from "node:assert/strict";
import { Conn, ConnectionClosedError, Server, Session } from "../mod.ts";
import type { SessionLink } from "../lib/session.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import { socketPair } from "./_socket_pair.ts";

/** A link whose outgoing buffer has room while `room` is true; it records what it is asked. */
function fakeLink() {
  let closedWith: (status: { code: number; reason: string }) => void = () => {};
  const link = {
    room: true,
    sent: [] as string[],
    written: [] as string[],
    closes: [] as [number, string][],
    peer: undefined as SessionLink["peer"],
    inFlight: 0,
    closed: new Promise<{ code: number; reason: string }>((resolve) => closedWith = resolve),
    sendText(text: string): boolean {
      if (link.room) link.sent.push(text);
      return link.room;
    },
    write(text: string): Promise<void> {
      link.written.push(text);
      return Promise.resolve();
    },
    close(code: number, reason: string): void {
      link.closes.push([code, reason]);
      closedWith({ code, reason });
    },
  };
  return link;
}

Deno.test("Session reports what its link holds: peer, inFlight, closed", async () => {
  const link = fakeLink();
  const session = new Session<typeof demoAPI>("7", { remoteAddr: "192.0.2.1:9" }, link);
  assert.equal(session.id, "7");
  assert.equal(session.remoteAddr, "192.0.2.1:9");
  assert.equal(session.request, undefined);
  assert.equal(session.peer, undefined);
  assert.equal(session.inFlight, 0);
  const peer = { publicKey: "ab" } as unknown as NonNullable<SessionLink["peer"]>;
  link.peer = peer;
  link.inFlight = 3;
  assert.equal(session.peer, peer);
  assert.equal(session.inFlight, 3);
  session.close();
  assert.deepEqual(await session.closed, { code: 1000, reason: "" });
});

Deno.test("Session.push() sends at once when there is room, else waits through the link", async () => {
  const link = fakeLink();
  const session = new Session<typeof demoAPI>("1", {}, link);
  await session.push("demo-event-notification", { seq: 1 } as never);
  assert.deepEqual(link.sent, [
    '{"header":{"command":"demo-event-notification"},"payload":{"seq":1}}',
  ]);
  link.room = false;
  await session.push("demo-event-notification", { seq: 2 } as never);
  assert.deepEqual(link.written, [
    '{"header":{"command":"demo-event-notification"},"payload":{"seq":2}}',
  ]);
  assert.equal(link.sent.length, 1);
});

Deno.test("Session.close() closes the link and aborts the signal; push() then fails without encoding", async () => {
  const link = fakeLink();
  const session = new Session<typeof demoAPI>("1", {}, link);
  session.close(1008, "idle timeout");
  assert.deepEqual(link.closes, [[1008, "idle timeout"]]);
  assert.ok(session.signal.aborted);
  assert.ok(session.signal.reason instanceof ConnectionClosedError);
  let encoded = false;
  const payload = {
    toJSON() {
      encoded = true;
      return {};
    },
  };
  const error = await session.push("demo-event-notification", payload as never).catch((e) => e);
  assert.ok(error instanceof ConnectionClosedError);
  assert.equal(error.code, 1008);
  assert.equal(encoded, false, "the payload of a push after the end is not encoded");
  assert.deepEqual(link.sent, []);
});

Deno.test("Session.push() rejects a payload that fails to encode, and sends nothing", async () => {
  const link = fakeLink();
  const session = new Session<typeof demoAPI>("1", {}, link);
  const unencodable = {
    toJSON() {
      throw new RangeError("cannot encode");
    },
  };
  // A rejected promise, not a synchronous throw.
  const pushed = session.push("demo-event-notification", unencodable as never);
  await assert.rejects(pushed, RangeError);
  assert.deepEqual(link.sent, []);
});

// Moved from server_test.ts onto the in-memory pair.
Deno.test("Session.push() sends id-less notifications that Conn.read() receives", async () => {
  const server = new Server(demoAPI, { handlers: demoHandlers });
  const [client, serverEnd] = socketPair();
  const served = server.serveSocket(serverEnd);
  await using conn = new Conn("ws://in-memory/", { api: demoAPI, webSocket: () => client });
  await conn.connect();
  assert.deepEqual(await conn.call("demo-notify-request", { count: 3 }), { count: 3 });
  const seqs = [];
  for await (const push of conn) {
    assert.equal(push.command, "demo-event-notification");
    assert.equal(push.id, "");
    seqs.push((push.payload as { seq: number }).seq);
    if (seqs.length === 3) break;
  }
  assert.deepEqual(seqs, [1, 2, 3]);
  await conn.close();
  await served;
});
