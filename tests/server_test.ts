import assert from "node:assert/strict";
import {
  Conn,
  ConnectionClosedError,
  defineAPI,
  errorf,
  ProtocolError,
  Server,
  unchecked,
} from "../mod.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import { delay, RawClient, rawConnect, startServer, waitFor } from "./_server.ts";
import { socketPair } from "./_socket_pair.ts";
import { testAPI as api, testServerOptions } from "./_api.ts";

function start(options: Partial<Parameters<typeof startServer<typeof api>>[1]> = {}) {
  const { options: testOptions, logged, hangs } = testServerOptions();
  const server = startServer(api, { ...testOptions, ...options });
  return { ...server, logged, hangs };
}

/** Sends `frame` on a fresh raw connection and returns the close status the server chose. */
async function closeStatusFor(url: string, frame: string | Uint8Array) {
  await using client = await rawConnect(url);
  client.send(frame);
  return await client.closed;
}

Deno.test('Server sends the initial ping with id "0" first, exactly as Go does', async () => {
  await using srv = start();
  // Read the clock before the connection exists: the server may stamp its ping
  // before `opened` resolves here, in an earlier second than a later reading.
  const before = Math.floor(Date.now() / 1000);
  await using client = new RawClient(srv.url);
  await client.opened;
  await waitFor(() => client.frames.length > 0);
  const after = Math.floor(Date.now() / 1000);
  const raw = client.frames[0]!;
  const match = raw.match(
    /^\{"header":\{"command":"demo-ping-request","id":"0"\},"payload":\{"timestamp":(\d+)\}\}$/,
  );
  assert.ok(match, raw);
  const stamped = Number(match[1]);
  assert.ok(stamped >= before && stamped <= after, `${stamped} not in [${before}, ${after}]`);
});

Deno.test("Server closes the connection on each kind of bad frame, with a defined status", async (t) => {
  await using srv = start({ readLimit: 1024, maxDepth: 8 });
  const table: [string, string | Uint8Array, number, RegExp][] = [
    ["malformed JSON", '{"header":', 1007, /failed to unmarshal JSON/],
    ["a binary frame", new Uint8Array([1, 2, 3]), 1003, /expected text message/],
    [
      "a frame over the read limit",
      JSON.stringify({ s: "x".repeat(1100) }),
      1009,
      /read limited at 1024 bytes/,
    ],
    ["nesting over the depth limit", "[".repeat(9) + "]".repeat(9), 1009, /nested deeper than 8/],
    // The depth is checked on the decoded value, and on the text when it does
    // not decode: too deep AND not JSON is still 1009, as before that change.
    ["nesting over the depth limit, not JSON", '{"a":'.repeat(9) + "]", 1009, /nested deeper/],
    [
      "nesting over the depth limit, bigint",
      "[".repeat(9) + "1".repeat(20) + "]".repeat(9),
      1009,
      /nested deeper/,
    ],
    ["nesting at the depth limit, not JSON", "[".repeat(8) + "]".repeat(7), 1007, /unmarshal/],
    [
      "nesting at the depth limit, a message",
      '{"header":' + "[".repeat(7) + "]".repeat(7) + "}",
      1008,
      /invalid command/,
    ],
    [
      "a message that is not an object",
      "[1,2]",
      1008,
      /invalid command: message is not a JSON object/,
    ],
    ["a missing header", '{"payload":null}', 1008, /invalid command: field "header" is missing/],
    [
      "an id that is not a string",
      '{"header":{"command":"demo-ping-request","id":7},"payload":null}',
      1008,
      /"header.id" is a number/,
    ],
    [
      "an unknown command",
      '{"header":{"command":"evil-request","id":"1"}}',
      1008,
      /invalid command: unknown command "evil-request"/,
    ],
    [
      "a command with no handler",
      '{"header":{"command":"t-orphan-response","id":"1"}}',
      1008,
      /no handler for "t-orphan-response"/,
    ],
  ];
  for (const [name, frame, code, reason] of table) {
    await t.step(`${name}: close ${code}`, async () => {
      const status = await closeStatusFor(srv.url, frame);
      assert.equal(status.code, code);
      assert.match(status.reason, reason);
    });
  }
  await t.step("a frame exactly at the read limit is accepted", async () => {
    await using client = await rawConnect(srv.url);
    const prefix = '{"header":{"command":"demo-echo-request","id":"1"},"payload":"';
    const frame = prefix + "x".repeat(1024 - prefix.length - 2) + '"}';
    assert.equal(frame.length, 1024);
    client.send(frame);
    const reply = await client.next();
    assert.equal((reply.payload as string).length, 1024 - prefix.length - 2);
  });
  await t.step("the server kept serving other connections throughout", async () => {
    await using conn = new Conn(srv.url, { api });
    await conn.connect();
    assert.deepEqual(await conn.call("t-count-request", { count: 21 }), { doubled: 42 });
    assert.equal(srv.server.sessions.size, 1);
  });
});

Deno.test("Server frees a session and its in-flight work when the client vanishes mid-call", async () => {
  await using srv = start();
  const client = await rawConnect(srv.url);
  client.send('{"header":{"command":"t-hang-request","id":"1"},"payload":null}');
  await waitFor(() => srv.hangs.length === 1);
  assert.equal(srv.server.sessions.size, 1);
  client.socket.close();
  await client.closed;
  await waitFor(() => srv.server.sessions.size === 0);
  assert.equal(srv.hangs[0]!.aborted, true, "the handler saw the client go");
});

Deno.test("Server refuses upgrades it should not accept, before upgrading", async (t) => {
  await using srv = start({ origins: ["https://app.example"], maxConnections: 1 });
  const http = srv.url.replace("ws:", "http:");
  const upgrade = {
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-version": "13",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  };
  await t.step("a plain HTTP request: 426", async () => {
    const res = await fetch(http);
    assert.equal(res.status, 426);
    await res.body?.cancel();
  });
  await t.step("an Origin outside the allow-list: 403", async () => {
    const res = await fetch(http, { headers: { ...upgrade, origin: "https://evil.example" } });
    assert.equal(res.status, 403);
    await res.body?.cancel();
  });
  await t.step("an allowed Origin and no Origin are accepted", async () => {
    await using conn = new Conn(srv.url, { headers: { origin: "https://app.example" } });
    await conn.connect();
    assert.equal(conn.isOnline, true);
  });
  await t.step("past maxConnections: 503", async () => {
    await using first = await rawConnect(srv.url);
    const res = await fetch(http, { headers: upgrade });
    assert.equal(res.status, 503);
    await res.body?.cancel();
    assert.equal(first.socket.readyState, WebSocket.OPEN);
  });
});

Deno.test("Server checks same-origin by default when a browser sends Origin", async () => {
  await using srv = start();
  await using same = new Conn(srv.url, { headers: { origin: `http://127.0.0.1:${srv.port}` } });
  await same.connect();
  const cross = new Conn(srv.url, { headers: { origin: "https://evil.example" } });
  await assert.rejects(cross.connect(), ConnectionClosedError);
});

Deno.test("Server closes with 4100 when authorize() refuses the session", async () => {
  await using srv = start({ authorize: (session) => session.remoteAddr === "nobody" });
  await using client = new RawClient(srv.url);
  const status = await client.closed;
  assert.deepEqual(status, { code: 4100, reason: "invalid public key" });
  assert.equal(client.frames.length, 0, "no ping before authorization");
});

Deno.test("Server.shutdown() finishes in-flight work, then closes with 1001", async () => {
  const srv = start();
  await using conn = new Conn(srv.url, { api });
  await conn.connect();
  const inFlight = conn.call("demo-sleep-request", { ms: 150 });
  await delay(30);
  const closing = srv.server.shutdown({ graceMs: 2_000 });
  assert.equal(srv.server.accepting, false);
  assert.deepEqual(await inFlight, { ms: 150 }, "in-flight request finished");
  await closing;
  const after = await conn.call("demo-echo-request", 1).catch((e) => e);
  assert.ok(after instanceof ConnectionClosedError);
  assert.equal(after.code, 1001);
  assert.equal(after.reason, "server shutting down");
  await srv.close();
});

Deno.test("Server closes idle connections when idleTimeoutMs is set", async () => {
  await using srv = start({ idleTimeoutMs: 100 });
  await using client = await rawConnect(srv.url);
  const status = await client.closed;
  assert.deepEqual(status, { code: 1008, reason: "idle timeout" });
});

Deno.test("Server's default log shows peer-supplied text without escapes or line breaks", async () => {
  const logApi = defineAPI({
    "t-ping-request": unchecked<{ timestamp: number }>(),
    "t-log-request": unchecked<string>(),
    "t-log-response": unchecked<null>(),
    "t-logf-request": unchecked<string>(),
    "t-logf-response": unchecked<null>(),
  });
  const evil = "x\u001b]0;PWNED\u0007\u001b[2J\u009b\u202e\u2028wsrpc: session 9: fake\ny";
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  try {
    await using srv = startServer(logApi, {
      handlers: {
        "t-log-request": (name) => {
          throw new Error(`no such name ${name}`);
        },
        "t-logf-request": (name) => {
          throw errorf("no such name %s", name);
        },
      },
    });
    await using conn = new Conn(srv.url, { api: logApi });
    await conn.connect();
    await assert.rejects(conn.call("t-log-request", evil), ProtocolError);
    await assert.rejects(conn.call("t-logf-request", evil), ProtocolError);
  } finally {
    console.error = original;
  }
  assert.equal(lines.length, 2, lines.join("\n"));
  for (const line of lines) {
    const [head] = line.split("\n    at "); // the stack frames of the internal error's cause
    assert.doesNotMatch(
      line,
      new RegExp(String.raw`[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2028\u2029]`),
      JSON.stringify(line),
    );
    assert.ok(!head!.includes("\n"), `one line per entry: ${JSON.stringify(head)}`);
    assert.ok(head!.includes(String.raw`x\u001b]0;PWNED\u0007\u001b[2J`), head);
  }
});

Deno.test("Server selects and echoes a subprotocol the client offers (Sec-WebSocket-Protocol)", async (t) => {
  await using srv = startServer(demoAPI, {
    handlers: demoHandlers,
    protocols: ["wsrpc.v2", "wsrpc.v1"],
  });
  await t.step("its first choice among the offered, served", async () => {
    await using client = new RawClient(srv.url, ["chat", "wsrpc.v1", "wsrpc.v2"]);
    await client.opened;
    assert.equal(client.socket.protocol, "wsrpc.v2");
    assert.match(JSON.stringify(await client.next()), /"id":"0"/);
  });
  await t.step("none offered that it speaks: served without a subprotocol", async () => {
    await using client = new RawClient(srv.url);
    await client.opened;
    assert.equal(client.socket.protocol, "");
  });
  await t.step("Conn offering protocols connects and calls", async () => {
    await using conn = new Conn(srv.url, { api: demoAPI, protocols: ["wsrpc.v1"] });
    await conn.connect();
    assert.equal(await conn.call("demo-echo-request", "p"), "p");
  });
});

Deno.test("Session.request keeps the upgrade's headers readable after Deno's upgrade", async () => {
  const seen: (string | null)[] = [];
  await using srv = start({
    onSessionOpen: (session) => {
      seen.push(session.request?.headers.get("x-probe") ?? null, session.request?.url ?? null);
    },
  });
  await using conn = new Conn(srv.url, { api, headers: { "x-probe": "kept" } });
  await conn.connect();
  assert.deepEqual(await conn.call("demo-echo-request", 1), 1);
  assert.deepEqual(seen, ["kept", srv.url.replace("ws:", "http:")]);
});

/** A session over the in-memory pair whose client reads nothing the server sends (held). */
function heldClient(server: Server<typeof demoAPI>) {
  const [client, serverEnd] = socketPair();
  serverEnd.hold(); // the client does not read: the server's frames stay unsent
  const served = server.serveSocket(serverEnd);
  let n = 0;
  const echo = (size: number) =>
    client.send(
      `{"header":{"command":"demo-echo-request","id":"${++n}"},"payload":"${"x".repeat(size)}"}`,
    );
  return { client, serverEnd, served, echo };
}

const smallQueues = {
  handlers: demoHandlers,
  writeHighWaterMark: 1024,
  readQueueLimit: 2048,
  writeTimeoutMs: 60_000,
};

Deno.test("Server closes a client over writeQueueLimit with 1008, pushes included", async () => {
  const server = new Server(demoAPI, { ...smallQueues, writeQueueLimit: 16 * 1024 });
  const { client, serverEnd, served, echo } = heldClient(server);
  for (let i = 0; i < 40; i++) echo(1000); // 40 KB of answers for a client that reads none
  await Promise.race([served, delay(5_000)]); // bounded: without the limit it waits 60 s
  assert.deepEqual(serverEnd.closeSent, {
    code: 1008,
    reason: "read queue full: peer sends faster than it reads",
  });
  // The same bound holds for pushes a handler fires without awaiting.
  const pushes = new Server(demoAPI, {
    ...smallQueues,
    writeQueueLimit: 16 * 1024,
    handlers: {
      ...demoHandlers,
      "demo-echo-request": (payload, { session }) => {
        for (let i = 0; i < 1000; i++) {
          void session.push("demo-event-notification", { seq: i, pad: payload } as never)
            .catch(() => {});
        }
        return null;
      },
    },
  });
  const held = heldClient(pushes);
  held.echo(100);
  await Promise.race([held.served, delay(5_000)]);
  assert.equal(held.serverEnd.closeSent?.code, 1008);
  client.drop();
  held.client.drop();
});

Deno.test("Server totalWriteQueueLimit closes greedy clients and spares one that reads", async () => {
  const server = new Server(demoAPI, {
    ...smallQueues,
    writeQueueLimit: 1024 * 1024,
    totalWriteQueueLimit: 64 * 1024,
  });
  const greedy = [heldClient(server), heldClient(server), heldClient(server)];
  const [readerEnd, readerServerEnd] = socketPair();
  const readerServed = server.serveSocket(readerServerEnd);
  await using reader = new Conn("ws://in-memory/", { api: demoAPI, webSocket: () => readerEnd });
  await reader.connect();
  for (let round = 0; round < 30; round++) {
    for (const g of greedy) g.echo(1000);
    assert.equal(await reader.call("demo-echo-request", round), round);
  }
  const closed = greedy.filter((g) => g.serverEnd.closeSent?.code === 1008);
  // 90 KB of answers cannot wait under a 64 KB total: at least one greedy client is closed ...
  assert.ok(closed.length >= 1, `closed ${closed.length}`);
  // ... and the reader, which never holds answers, is untouched.
  assert.ok(reader.isOnline);
  for (const g of greedy) g.client.drop();
  await Promise.all(greedy.map((g) => g.served));
  await reader.close();
  await readerServed;
});
