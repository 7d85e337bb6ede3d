// The "topics" extension: replay after a reconnect (wsrpc-resume), gaps
// (wsrpc-gap) surfaced to Conn's onTopicGap, who may resume, and what a
// client that never negotiated (a Go client) sees. Over the in-memory pair.
import assert from "node:assert/strict";
import { Conn, Server, type ServerOptions } from "../mod.ts";
import { MemoryBus, type TopicGap } from "../lib/topics.ts";
import { topicAPI } from "./_topic_api.ts";
import { pairsServedBy } from "./_pair_server.ts";

function start(
  options: Partial<ServerOptions<typeof topicAPI>> = {},
  resumable = true,
) {
  const server = new Server(topicAPI, {
    bus: new MemoryBus(),
    extensions: true,
    ...(resumable ? { canResume: () => true } : {}),
    handlers: {
      "t-watch-request": async ({ topic }, { session }) => {
        await session.subscribe(topic);
        return null;
      },
    },
    ...options,
  });
  const { ends, pair, close } = pairsServedBy(server);
  const gaps: TopicGap[] = [];
  return {
    server,
    ends,
    gaps,
    conn: async () => {
      const conn = new Conn("ws://in-memory/", {
        api: topicAPI,
        webSocket: pair,
        reconnect: { initialDelayMs: 5, maxDelayMs: 5, jitter: 0 },
        onTopicGap: (gap) => gaps.push(gap),
      });
      await conn.connect();
      return conn;
    },
    raw: () => {
      const socket = pair();
      const frames: string[] = [];
      socket.addEventListener("message", (e) => frames.push((e as MessageEvent).data));
      return { socket, frames };
    },
    [Symbol.asyncDispose]: close,
  };
}

async function payloads(conn: Conn<typeof topicAPI>, count: number): Promise<number[]> {
  const seen: number[] = [];
  while (seen.length < count) {
    const push = await conn.read({ signal: AbortSignal.timeout(5_000) });
    seen.push((push.payload as { n: number }).n);
  }
  return seen;
}

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

async function publish(server: Server<typeof topicAPI>, from: number, to: number): Promise<void> {
  for (let n = from; n <= to; n++) await server.publish("t", "t-event-notification", { n });
}

Deno.test("after a reconnect the server replays what the client missed, in order, none twice, then live", async () => {
  await using srv = start();
  const conn = await srv.conn();
  assert.ok(conn.extensions.includes("topics"));
  await conn.call("t-watch-request", { topic: "t" });
  await publish(srv.server, 1, 5);
  assert.deepEqual(await payloads(conn, 5), [1, 2, 3, 4, 5]);
  assert.equal(conn.topicPositions.get("t")?.seq, 5);
  srv.ends[0]!.drop(); // the connection dies
  await tick(1);
  await publish(srv.server, 6, 10); // missed while away
  while (srv.ends.length < 2 || srv.server.sessions.size < 1) await tick(5);
  // Live publishes race the replay: the server holds them until it is sent.
  await publish(srv.server, 11, 12);
  assert.deepEqual(await payloads(conn, 7), [6, 7, 8, 9, 10, 11, 12]);
  await tick(20);
  await publish(srv.server, 13, 13);
  assert.deepEqual(await payloads(conn, 1), [13], "nothing twice: the next push is 13");
  assert.deepEqual(srv.gaps, []);
  conn.close();
});

Deno.test("missed messages past retention: onTopicGap is called (expired), then what is kept follows", async () => {
  await using srv = start({ bus: new MemoryBus({ historySize: 3 }) });
  const conn = await srv.conn();
  await conn.call("t-watch-request", { topic: "t" });
  await publish(srv.server, 1, 2);
  assert.deepEqual(await payloads(conn, 2), [1, 2]);
  srv.ends[0]!.drop();
  await tick(1);
  await publish(srv.server, 3, 12); // 3..12 missed; only 3 are kept (>= 10)
  const replayed = await payloads(conn, 3);
  assert.deepEqual(srv.gaps.map((g) => [g.topic, g.reason]), [["t", "expired"]]);
  assert.deepEqual(replayed.slice(-3), [10, 11, 12]);
  conn.close();
});

Deno.test("a topic the server does not let the session resume is refused: a gap, no replay, forgotten", async () => {
  const asked: string[] = [];
  await using srv = start({
    canResume: (_session, topic) => {
      asked.push(topic);
      return topic.startsWith("public:");
    },
  });
  const conn = await srv.conn();
  await conn.call("t-watch-request", { topic: "user:alice" });
  await conn.call("t-watch-request", { topic: "public:blocks" });
  await srv.server.publish("user:alice", "t-event-notification", { n: 1 });
  await srv.server.publish("public:blocks", "t-event-notification", { n: 2 });
  assert.deepEqual(await payloads(conn, 2), [1, 2]);
  srv.ends[0]!.drop();
  await tick(1);
  await srv.server.publish("user:alice", "t-event-notification", { n: 3 });
  await srv.server.publish("public:blocks", "t-event-notification", { n: 4 });
  assert.deepEqual(await payloads(conn, 1), [4], "only the allowed topic is replayed");
  while (srv.gaps.length === 0) await tick(5);
  assert.deepEqual(srv.gaps.map((g) => [g.topic, g.reason]), [["user:alice", "refused"]]);
  assert.deepEqual(asked.sort(), ["public:blocks", "user:alice"]);
  assert.deepEqual([...conn.topicPositions.keys()], ["public:blocks"]);
  const [session] = srv.server.sessions.values();
  assert.deepEqual([...session!.topics], ["public:blocks"]);
  conn.close();
});

Deno.test("without canResume nothing is resumable", async () => {
  await using srv = start({}, false);
  const conn = await srv.conn();
  await conn.call("t-watch-request", { topic: "t" });
  await publish(srv.server, 1, 1);
  await payloads(conn, 1);
  srv.ends[0]!.drop();
  while (srv.gaps.length === 0) await tick(5);
  assert.deepEqual(srv.gaps.map((g) => g.reason), ["refused"]);
  conn.close();
});

Deno.test("a client that never sent a hello (a Go client) gets plain pushes; wsrpc-resume from it closes 1008", async () => {
  await using srv = start();
  const go = srv.raw();
  go.socket.send('{"header":{"command":"t-watch-request","id":"1"},"payload":{"topic":"t"}}');
  while (go.frames.length < 2) await tick(1);
  await publish(srv.server, 1, 1);
  while (go.frames.length < 3) await tick(1);
  assert.match(go.frames[0]!, /"wsrpc":\[/, "the offer, on the ping only");
  assert.equal(go.frames[2], '{"header":{"command":"t-event-notification"},"payload":{"n":1}}');
  go.socket.send('{"header":{"command":"wsrpc-resume"},"payload":{"topics":[]}}');
  while (go.socket.closeStatus === undefined) await tick(1);
  assert.equal(go.socket.closeStatus.code, 1008);
  assert.match(go.socket.closeStatus.reason, /wsrpc-resume/);
});

Deno.test("a negotiated client's topic pushes carry topic, seq and epoch; a malformed resume closes 1008", async () => {
  await using srv = start();
  const raw = srv.raw();
  raw.socket.send('{"header":{"command":"wsrpc-hello"},"payload":{"extensions":["topics"]}}');
  raw.socket.send('{"header":{"command":"t-watch-request","id":"1"},"payload":{"topic":"t"}}');
  while (raw.frames.length < 2) await tick(1);
  const { seq, epoch } = await srv.server.publish("t", "t-event-notification", { n: 1 });
  while (raw.frames.length < 3) await tick(1);
  assert.deepEqual(JSON.parse(raw.frames[2]!), {
    header: { command: "t-event-notification", topic: "t", seq, epoch },
    payload: { n: 1 },
  });
  raw.socket.send('{"header":{"command":"wsrpc-resume"},"payload":{"topics":[{"topic":"t"}]}}');
  while (raw.socket.closeStatus === undefined) await tick(1);
  assert.equal(raw.socket.closeStatus.code, 1008);
  assert.match(raw.socket.closeStatus.reason, /^invalid command: wsrpc-resume: each topic/);
});
