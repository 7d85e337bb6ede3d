// Conn over the in-memory pair (tests/_socket_pair.ts) where no real socket is
// needed: against a real Server (`pairServer`) or a scripted peer
// (`scriptedPeer`). Real sockets stay for dialing, upgrade headers and
// reconnecting to a restarted server.
import assert from "node:assert/strict";
import {
  type API,
  Conn,
  ConnectionClosedError,
  defineAPI,
  HandshakeError,
  InvalidCommandError,
  ProtocolError,
  Server,
  type ServerOptions,
  type StandardSchemaV1,
  unchecked,
} from "../mod.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import { delay, startServer, waitFor } from "./_server.ts";
import { socketPair, type TestSocket } from "./_socket_pair.ts";

/** Where in-memory Conns "dial"; the socket factory decides what answers. */
const url = "ws://in-memory.test/v1/ws";

/** A real `Server` whose sessions run over in-memory pairs: each dial of `webSocket` is one. */
function pairServer<A extends API>(api: A, options: ServerOptions<A>) {
  const server = new Server(api, options);
  const served: Promise<void>[] = [];
  return {
    server,
    webSocket: () => {
      const [client, end] = socketPair();
      served.push(server.serveSocket(end));
      return client;
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown({ graceMs: 0 });
      await Promise.all(served);
    },
  };
}

/**
 * A scripted in-memory peer: `onSocket` gets the server end of each dial and
 * the frames it receives. For cases the real Server never produces.
 */
function scriptedPeer(onSocket: (socket: TestSocket, received: string[]) => void) {
  const sockets: TestSocket[] = [];
  return {
    sockets,
    webSocket: () => {
      const [client, end] = socketPair();
      const received: string[] = [];
      sockets.push(end);
      end.addEventListener("message", (e) => received.push((e as MessageEvent).data));
      onSocket(end, received);
      return client;
    },
    [Symbol.dispose]() {
      for (const s of sockets) s.drop();
    },
  };
}

/**
 * A scripted raw WebSocket server: `onSocket` gets each server-side socket
 * and the frames it receives. For the upgrade request's headers.
 */
function scriptedServer(
  onSocket: (socket: WebSocket, received: string[], headers: Headers) => void,
) {
  const sockets: WebSocket[] = [];
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const headers = new Headers(req.headers); // unreadable after the upgrade
    const { socket, response } = Deno.upgradeWebSocket(req);
    const received: string[] = [];
    sockets.push(socket);
    socket.addEventListener("message", (e) => received.push(e.data));
    onSocket(socket, received, headers);
    return response;
  });
  return {
    url: `ws://127.0.0.1:${http.addr.port}/`,
    sockets,
    async [Symbol.asyncDispose]() {
      for (const s of sockets) if (s.readyState < WebSocket.CLOSING) s.close();
      await http.shutdown();
    },
  };
}

const ping = (id = "0") =>
  `{"header":{"command":"demo-ping-request","id":"${id}"},"payload":{"timestamp":1}}`;

Deno.test("Conn.connect() reads the server's first message before it resolves", async () => {
  let sendFirst!: () => void;
  using peer = scriptedPeer((socket) => {
    sendFirst = () => socket.send(ping());
  });
  await using conn = new Conn(url, { api: demoAPI, webSocket: peer.webSocket });
  let connected = false;
  const connecting = conn.connect().then(() => connected = true);
  await waitFor(() => sendFirst !== undefined);
  await delay(50);
  assert.equal(connected, false, "still waiting for the first message");
  sendFirst();
  await connecting;
  assert.equal(conn.isOnline, true);
  assert.equal(conn.connectCount, 1);
});

Deno.test("Conn.connect() times out on a server that never sends its first message", async () => {
  using peer = scriptedPeer(() => {});
  await using conn = new Conn(url, { connectTimeoutMs: 150, webSocket: peer.webSocket });
  const error = await conn.connect().catch((e) => e);
  assert.ok(error instanceof DOMException);
  assert.equal(error.name, "TimeoutError");
  assert.match(error.message, /Connect timed out after 150 ms/);
  assert.equal(conn.isOnline, false);
});

Deno.test("Conn.connect() rejects clearly on a refused connection and a bad URL", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close(); // nothing listens there now
  const conn = new Conn(`ws://127.0.0.1:${port}/`);
  const error = await conn.connect().catch((e) => e);
  assert.ok(error instanceof ConnectionClosedError, String(error));
  assert.match(error.message, new RegExp(`^Cannot connect to ws://127.0.0.1:${port}/: `));
  assert.throws(() => new Conn("not a url"), SyntaxError);
  assert.throws(() => new Conn("ftp://127.0.0.1/"), /scheme must be ws: or wss:/);
  assert.equal(new Conn("http://127.0.0.1:1/x").url, "ws://127.0.0.1:1/x");
});

Deno.test("Conn.connect() fails at once, with no timer left, when the socket cannot be made", async () => {
  // Regression: a throwing factory left the 20 s connect timer running (a leak
  // the sanitizer reports) and the state stuck at "connecting".
  let attempts = 0;
  const [clientEnd, serverEnd] = socketPair();
  const server = new Server(demoAPI, { handlers: demoHandlers });
  const served = server.serveSocket(serverEnd);
  const conn = new Conn("ws://in-memory/", {
    api: demoAPI,
    webSocket: () => {
      if (++attempts === 1) throw new SyntaxError("bad protocol token");
      return clientEnd;
    },
  });
  await assert.rejects(conn.connect(), SyntaxError);
  assert.equal(conn.isOnline, false);
  // Not "connecting" any more: a call fails fast instead of waiting to be online.
  await assert.rejects(
    conn.call("demo-ping-request", { timestamp: 1 }, { timeoutMs: 2_000 }),
    ConnectionClosedError,
  );
  await conn.connect(); // the next attempt dials again
  assert.equal(attempts, 2);
  assert.equal((await conn.call("demo-ping-request", { timestamp: 3 })).origintimestamp, 3);
  await conn.close();
  await served;
});

Deno.test("Conn.call() numbers requests 1, 2, ... and matches out-of-order responses", async () => {
  using peer = scriptedPeer((socket, received) => {
    socket.send(ping());
    socket.addEventListener("message", () => {
      if (received.length < 3) return;
      // Answer the three requests in reverse order.
      for (const text of [...received].reverse()) {
        const { header, payload } = JSON.parse(text);
        socket.send(
          JSON.stringify({ header: { command: "demo-echo-response", id: header.id }, payload }),
        );
      }
    });
  });
  await using conn = new Conn(url, { api: demoAPI, webSocket: peer.webSocket });
  await conn.connect();
  const results = await Promise.all(["a", "b", "c"].map((p) => conn.call("demo-echo-request", p)));
  assert.deepEqual(results, ["a", "b", "c"]);
});

Deno.test('Conn sends the ids "1", "2", "3" in order, one frame per call', async () => {
  await using srv = pairServer(demoAPI, { handlers: demoHandlers });
  const sent: string[] = [];
  await using conn = new Conn(url, {
    api: demoAPI,
    webSocket: srv.webSocket,
    onMessage: (direction, m) => {
      if (direction === "send") sent.push((m as { header: { id: string } }).header.id);
    },
  });
  await conn.connect();
  for (let i = 0; i < 3; i++) await conn.call("demo-echo-request", i);
  assert.deepEqual(sent, ["1", "2", "3"]);
});

Deno.test("Conn.read() gets pushes and responses whose id matches no call", async () => {
  using peer = scriptedPeer((socket) => {
    socket.send(ping());
    socket.send('{"header":{"command":"demo-event-notification"},"payload":{"seq":1}}');
    socket.send('{"header":{"command":"demo-echo-response","id":"999"},"payload":"stray"}');
    socket.send('{"header":{"command":"not-in-api"},"payload":null}');
    socket.send('{"header":{"command":"demo-event-notification"},"payload":{"seq":2}}');
  });
  await using conn = new Conn(url, { api: demoAPI, webSocket: peer.webSocket });
  await conn.connect();
  assert.deepEqual(await conn.read(), {
    command: "demo-event-notification",
    id: "",
    payload: { seq: 1 },
  });
  assert.deepEqual(await conn.read(), {
    command: "demo-echo-response",
    id: "999",
    payload: "stray",
  });
  await assert.rejects(
    conn.read(),
    InvalidCommandError,
    "an invalid push is reported, not dropped",
  );
  assert.deepEqual(await conn.readJSON(), {
    header: { command: "demo-event-notification" },
    payload: { seq: 2 },
  });
  assert.equal(conn.isOnline, true, "an invalid push does not close the connection");
});

Deno.test("Conn.read() keeps a bounded queue and counts what it drops", async () => {
  await using srv = pairServer(demoAPI, { handlers: demoHandlers });
  await using conn = new Conn(url, { api: demoAPI, pushQueueSize: 5, webSocket: srv.webSocket });
  await conn.connect();
  await conn.call("demo-notify-request", { count: 8 });
  await waitFor(() => conn.droppedPushes === 3);
  const seqs = [];
  for (let i = 0; i < 5; i++) seqs.push(((await conn.read()).payload as { seq: number }).seq);
  assert.deepEqual(seqs, [4, 5, 6, 7, 8], "the oldest were dropped");
});

Deno.test("Conn.call() rejects with ProtocolError on an error payload, unless told not to", async () => {
  await using srv = pairServer(demoAPI, { handlers: demoHandlers });
  const webSocket = srv.webSocket;
  await using conn = new Conn(url, { api: demoAPI, webSocket });
  await conn.connect();
  const error = await conn.call("demo-fail-request", null).catch((e) => e);
  assert.ok(error instanceof ProtocolError);
  assert.equal(error.message, "demo failure, as requested");
  const raw = await conn.call("demo-fail-request", null, { rejectErrors: false });
  assert.equal((raw.error as { message: string }).message, "demo failure, as requested");
  await using lenient = new Conn(url, { api: demoAPI, rejectErrors: false, webSocket });
  await lenient.connect();
  assert.ok((await lenient.call("demo-fail-request", null)).error);
});

Deno.test("Conn.call() honours a per-call timeout and signal, and the connection survives", async () => {
  await using srv = pairServer(demoAPI, { handlers: demoHandlers });
  await using conn = new Conn(url, { api: demoAPI, webSocket: srv.webSocket });
  await conn.connect();
  const timedOut = await conn.call("demo-sleep-request", { ms: 500 }, { timeoutMs: 50 }).catch((
    e,
  ) => e);
  assert.equal(timedOut.name, "TimeoutError");
  assert.match(timedOut.message, /Call "demo-sleep-request" timed out after 50 ms/);
  const controller = new AbortController();
  const aborted = conn.call("demo-sleep-request", { ms: 500 }, { signal: controller.signal });
  controller.abort(new Error("user gave up"));
  await assert.rejects(aborted, /user gave up/);
  assert.equal(conn.pendingCalls, 0);
  assert.deepEqual(await conn.call("demo-sleep-request", { ms: 1 }), { ms: 1 });
});

Deno.test("Conn rejects every pending call at once when the socket drops", async () => {
  await using srv = pairServer(demoAPI, { handlers: demoHandlers });
  await using conn = new Conn(url, { api: demoAPI, webSocket: srv.webSocket });
  await conn.connect();
  const calls = Array.from({ length: 20 }, () => conn.call("demo-sleep-request", { ms: 10_000 }));
  await waitFor(() => [...srv.server.sessions.values()][0]?.inFlight === 20);
  const started = Date.now();
  [...srv.server.sessions.values()][0]!.close(1011, "boom");
  const results = await Promise.allSettled(calls);
  assert.ok(Date.now() - started < 1_000, "settled promptly");
  for (const r of results) {
    assert.equal(r.status, "rejected");
    assert.ok(r.reason instanceof ConnectionClosedError);
    assert.equal(r.reason.code, 1011);
    assert.equal(r.reason.reason, "boom");
  }
  assert.equal(conn.isOnline, false);
  await assert.rejects(
    conn.call("demo-echo-request", 1),
    ConnectionClosedError,
    "no reconnect: fails fast",
  );
  await assert.rejects(conn.read(), ConnectionClosedError);
});

Deno.test("Conn.close() rejects pending calls, ends read() and the iterator", async () => {
  await using srv = pairServer(demoAPI, { handlers: demoHandlers });
  const conn = new Conn(url, { api: demoAPI, webSocket: srv.webSocket });
  await conn.connect();
  const pending = conn.call("demo-sleep-request", { ms: 10_000 }).catch((e) => e);
  const reading = conn.read().catch((e) => e);
  const iterated: unknown[] = [];
  const iterating = (async () => {
    for await (const push of conn) iterated.push(push);
  })();
  await delay(20);
  await conn.close(1000, "bye");
  const error = await pending;
  assert.ok(error instanceof ConnectionClosedError);
  assert.equal(error.reason, "bye");
  assert.ok((await reading) instanceof ConnectionClosedError);
  await iterating;
  assert.deepEqual(iterated, []);
  await conn.close(); // idempotent
});

Deno.test("Conn reconnects with backoff after a drop, and calls made while offline wait", async () => {
  const srv = startServer(demoAPI, { handlers: demoHandlers });
  const port = srv.port;
  const events: string[] = [];
  await using conn = new Conn(srv.url, {
    api: demoAPI,
    reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    onConnect: () => events.push("connect"),
    onDisconnect: (e) => events.push(`disconnect ${e.code}`),
  });
  await conn.connect();
  await srv.close(); // the server goes away: 1001
  await waitFor(() => !conn.isOnline);
  const waiting = conn.call("demo-echo-request", "after restart", { timeoutMs: 5_000 });
  await delay(150); // a few failed attempts against a closed port
  // The server returns on the same port.
  const restarted = startServer(demoAPI, { handlers: demoHandlers }, { port });
  try {
    assert.equal(await waiting, "after restart");
    assert.equal(conn.connectCount, 2);
    assert.deepEqual(events, ["connect", "disconnect 1001", "connect"]);
  } finally {
    await conn.close();
    await restarted.close();
  }
});

Deno.test("Conn keepalive measures round-trip time", async () => {
  await using srv = pairServer(demoAPI, { handlers: demoHandlers });
  await using conn = new Conn(url, {
    api: demoAPI,
    keepalive: { intervalMs: 20 },
    webSocket: srv.webSocket,
  });
  await conn.connect();
  await waitFor(() => conn.rtt !== undefined);
  assert.ok(conn.rtt! >= 0 && conn.rtt! < 5_000);
  assert.throws(() => new Conn(url, { keepalive: {} }), /no ping command/);
});

Deno.test("Conn keepalive closes a connection whose server stops answering", async () => {
  using peer = scriptedPeer((socket) => socket.send(ping()));
  const dropped: ConnectionClosedError[] = [];
  await using conn = new Conn(url, {
    api: demoAPI,
    webSocket: peer.webSocket,
    keepalive: { intervalMs: 20, timeoutMs: 50 },
    onDisconnect: (e) => dropped.push(e),
  });
  await conn.connect();
  await waitFor(() => dropped.length === 1);
  assert.equal(dropped[0]!.code, 1001);
  assert.equal(dropped[0]!.reason, "keepalive timeout");
});

Deno.test("Conn sends headers on the upgrade request", async () => {
  let seen = "";
  await using srv = scriptedServer((socket, _received, headers) => {
    seen = headers.get("authorization") ?? "";
    socket.addEventListener("open", () => socket.send(ping()));
  });
  await using conn = new Conn(srv.url, { headers: { authorization: "Bearer t0ken" } });
  await conn.connect();
  assert.equal(seen, "Bearer t0ken");
});

Deno.test("Conn reports a failed handshake as HandshakeError", async () => {
  using peer = scriptedPeer((socket) => socket.close(4100, "invalid public key"));
  await using conn = new Conn(url, {
    webSocket: peer.webSocket,
    authenticator: {
      handshakeClient: async (c, signal) => void await c.readJSON(signal),
      handshakeServer: () => Promise.reject(new Error("unused")),
    },
  });
  const error = await conn.connect().catch((e) => e);
  assert.ok(error instanceof HandshakeError);
  assert.equal(
    error.message,
    'failed to handshake with server: Connection closed: 4100 "invalid public key"',
  );
  assert.ok(error.cause instanceof ConnectionClosedError);
});

Deno.test("Conn keeps integers beyond 2^53 exact both ways", async () => {
  await using srv = pairServer(demoAPI, { handlers: demoHandlers });
  await using conn = new Conn(url, { api: demoAPI, webSocket: srv.webSocket });
  await conn.connect();
  const value = { height: 18446744073709551615n, small: 1, neg: -(2n ** 63n) };
  assert.deepEqual(await conn.call("demo-echo-request", value), value);
});

Deno.test("Conn.close() during connect() ends the dial at once", async () => {
  using peer = scriptedPeer(() => {}); // never sends the first message
  const conn = new Conn(url, { webSocket: peer.webSocket });
  const connecting = conn.connect().catch((e) => e);
  await delay(50);
  const started = Date.now();
  await conn.close(1000, "changed my mind");
  const error = await connecting;
  assert.ok(Date.now() - started < 1_000, "did not wait for the 20 s connect timeout");
  assert.ok(error instanceof ConnectionClosedError);
  assert.equal(error.reason, "changed my mind");
});

Deno.test("Conn keeps reconnecting after a connect() of the user's fails mid-cycle", async () => {
  const srv = startServer(demoAPI, { handlers: demoHandlers });
  const port = srv.port;
  await using conn = new Conn(srv.url, {
    api: demoAPI,
    reconnect: { initialDelayMs: 20, maxDelayMs: 50 },
  });
  await conn.connect();
  await srv.close();
  await waitFor(() => !conn.isOnline);
  await assert.rejects(conn.connect(), ConnectionClosedError, "nothing listens yet");
  const restarted = startServer(demoAPI, { handlers: demoHandlers }, { port });
  try {
    await waitFor(() => conn.isOnline, 5_000);
    assert.equal(conn.connectCount, 2);
  } finally {
    await conn.close();
    await restarted.close();
  }
});

Deno.test("Conn handles messages in arrival order even when a schema validates asynchronously", async () => {
  const slow: StandardSchemaV1<{ n: number }> = {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: (v) =>
        new Promise((resolve) => setTimeout(() => resolve({ value: v as { n: number } }), 30)),
    },
  };
  const api = defineAPI({
    "demo-ping-request": unchecked<{ timestamp: number }>(),
    "t-slow-notification": slow,
    "t-fast-notification": unchecked<{ n: number }>(),
  });
  using peer = scriptedPeer((socket) => {
    socket.send(ping());
    socket.send('{"header":{"command":"t-slow-notification"},"payload":{"n":1}}');
    socket.send('{"header":{"command":"t-fast-notification"},"payload":{"n":2}}');
    socket.send('{"header":{"command":"t-slow-notification"},"payload":{"n":3}}');
  });
  await using conn = new Conn(url, { api, webSocket: peer.webSocket });
  await conn.connect();
  const order = [];
  for (let i = 0; i < 3; i++) order.push(((await conn.read()).payload as { n: number }).n);
  assert.deepEqual(order, [1, 2, 3]);
});

Deno.test("Conn timeouts past 2^31 ms (connect, call, call with a signal) do not fire at once", async () => {
  let sendFirst!: () => void;
  using peer = scriptedPeer((socket) => {
    sendFirst = () => socket.send(ping()); // and never answers a call
  });
  await using conn = new Conn(url, {
    api: demoAPI,
    connectTimeoutMs: 3e9,
    webSocket: peer.webSocket,
  });
  let connectError: unknown;
  const connecting = conn.connect().catch((e) => connectError = e);
  await waitFor(() => sendFirst !== undefined);
  await delay(200);
  assert.equal(connectError, undefined, "the connect timeout did not fire");
  sendFirst();
  await connecting;
  assert.equal(conn.isOnline, true);
  const settled: string[] = [];
  conn.call("demo-echo-request", 1, { timeoutMs: 3e9 }).catch((e) => settled.push(`fast: ${e}`));
  conn.call("demo-echo-request", 2, { timeoutMs: 3e9, signal: new AbortController().signal })
    .catch((e) => settled.push(`waiting: ${e}`));
  await delay(200);
  assert.deepEqual(settled, [], "no call timed out");
  assert.equal(conn.pendingCalls, 2);
  await conn.close();
  assert.equal(settled.length, 2);
});

Deno.test("Conn.read() bounds its queue by bytes too, dropping the oldest pushes", async (t) => {
  const push = (seq: number) =>
    JSON.stringify({
      header: { command: "demo-event-notification" },
      payload: { seq, data: "x".repeat(400_000) },
    });
  const size = push(10).length + 64; // every seq below has two digits: equal sizes
  const cases: [string, number | undefined, number][] = [
    ["the 8 MiB default", undefined, 30],
    ["pushQueueBytes: 1 MiB", 1024 * 1024, 10],
  ];
  for (const [name, pushQueueBytes, count] of cases) {
    await t.step(name, async () => {
      using peer = scriptedPeer((socket) => socket.send(ping()));
      await using conn = new Conn(url, {
        api: demoAPI,
        webSocket: peer.webSocket,
        ...(pushQueueBytes === undefined ? {} : { pushQueueBytes }),
      });
      await conn.connect();
      // Sent once online: the pair delivers a burst within one task, before the
      // client's listener is on, where WSConn's 4 MiB read queue would close it.
      for (let seq = 10; seq < 10 + count; seq++) peer.sockets[0]!.send(push(seq));
      const kept = Math.floor((pushQueueBytes ?? 8 * 1024 * 1024) / size);
      assert.ok(kept > 0 && kept < count);
      await waitFor(() => conn.droppedPushes === count - kept);
      const seqs: number[] = [];
      for (let i = 0; i < kept; i++) {
        seqs.push(((await conn.read()).payload as { seq: number }).seq);
      }
      const last = Array.from({ length: kept }, (_, i) => 10 + count - kept + i);
      assert.deepEqual(seqs, last, "the newest are kept, in order");
      assert.equal(conn.droppedPushes, count - kept);
    });
  }
});

Deno.test("Conn.call() rejects a reply on its id whose command is not the response command", async () => {
  using peer = scriptedPeer((socket, received) => {
    socket.send(ping());
    socket.addEventListener("message", () => {
      const { header, payload } = JSON.parse(received.at(-1)!);
      const command = payload === "wrong" ? "demo-event-notification" : "demo-echo-response";
      socket.send(JSON.stringify({ header: { command, id: header.id }, payload }));
    });
  });
  await using conn = new Conn(url, { api: demoAPI, webSocket: peer.webSocket });
  await conn.connect();
  const error = await conn.call("demo-echo-request", "wrong").catch((e) => e);
  assert.ok(error instanceof InvalidCommandError, String(error));
  assert.equal(
    error.message,
    'invalid command: response "demo-event-notification" to call 1, expected "demo-echo-response"',
  );
  assert.equal(error.command, "demo-event-notification");
  assert.equal(error.id, "1");
  // With a signal (the other path), and the connection stays up.
  const waiting = await conn.call("demo-echo-request", "wrong", {
    signal: AbortSignal.timeout(5_000),
  })
    .catch((e) => e);
  assert.ok(waiting instanceof InvalidCommandError, String(waiting));
  assert.equal(await conn.call("demo-echo-request", "right"), "right");
  assert.equal(conn.pendingCalls, 0);
  // Schemaless, the naming convention still applies.
  await using loose = new Conn(url, { webSocket: peer.webSocket });
  await loose.connect();
  await assert.rejects(loose.call("demo-echo-request", "wrong"), InvalidCommandError);
  assert.equal(await loose.call("demo-echo-request", "right"), "right");
});

// The fast path added for `deno task bench` (bench/): `Conn.call` online shares
// one timer among its calls' timeouts. Timeouts must still fire on time, per
// call, whatever the order of their deadlines (moved from conn_fast_path_test.ts).
Deno.test("Conn.call: each call times out at its own deadline under one shared timer", async () => {
  await using server = pairServer(demoAPI, { handlers: demoHandlers });
  await using conn = new Conn(url, {
    api: demoAPI,
    callTimeoutMs: 5_000,
    webSocket: server.webSocket,
  });
  await conn.connect();
  const t0 = performance.now();
  const settled = (p: Promise<unknown>) =>
    p.then(
      (value) => ({ ok: true, value, ms: performance.now() - t0 }),
      (error) => ({ ok: false, error, ms: performance.now() - t0 }),
    );
  // Long deadline first, then shorter ones: the timer must move earlier. The
  // two short deadlines are far apart so that a loaded machine cannot expire
  // both in one sweep, where their settle order would not be defined.
  const long = settled(conn.call("demo-sleep-request", { ms: 400 }, { timeoutMs: 3_000 }));
  const short = settled(conn.call("demo-sleep-request", { ms: 2_000 }, { timeoutMs: 1_000 }));
  const shorter = settled(conn.call("demo-sleep-request", { ms: 2_000 }, { timeoutMs: 60 }));
  const quick = settled(conn.call("demo-ping-request", { timestamp: 7 }));
  const none = settled(conn.call("demo-sleep-request", { ms: 150 }, { timeoutMs: 0 }));
  const [l, s, ss, q, n] = await Promise.all([long, short, shorter, quick, none]);
  assert.equal(q.ok, true);
  assert.deepEqual((q as { value: { origintimestamp: number } }).value.origintimestamp, 7);
  for (const [r, ms] of [[ss, 60], [s, 1_000]] as const) {
    assert.equal(r.ok, false);
    const error = (r as { error: Error }).error;
    assert.equal(error.name, "TimeoutError");
    assert.match(error.message, new RegExp(`timed out after ${ms} ms`));
    assert.ok(r.ms >= ms - 5 && r.ms < ms + 300, `timed out at ${r.ms} ms, deadline ${ms}`);
  }
  assert.ok(ss.ms < 1_000, `the earlier deadline fired at ${ss.ms} ms, not held to the later one`);
  assert.ok(ss.ms <= s.ms, "the earlier deadline fired first");
  assert.equal(l.ok, true, "a call with a later deadline is not swept early");
  assert.equal(n.ok, true, "timeoutMs 0: no timeout");
  assert.equal(conn.pendingCalls, 0);
  // Still usable after the sweeps, and no timer is left behind (sanitizers).
  assert.equal((await conn.call("demo-ping-request", { timestamp: 8 })).origintimestamp, 8);
});

Deno.test("Conn.call: close() rejects pending calls and stops the shared timer", async () => {
  await using server = pairServer(demoAPI, { handlers: demoHandlers });
  const conn = new Conn(url, { api: demoAPI, webSocket: server.webSocket });
  await conn.connect();
  const pending = conn.call("demo-sleep-request", { ms: 5_000 }, { timeoutMs: 10_000 });
  const rejected = assert.rejects(
    pending,
    (error: Error) => error.name === "ConnectionClosedError",
  );
  await new Promise((resolve) => setTimeout(resolve, 20));
  await conn.close(1000, "bye");
  await rejected;
  assert.equal(conn.pendingCalls, 0);
});
