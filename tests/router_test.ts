// Routing and handler invocation (lib/_router.ts), driven through
// `Server.serveSocket` over the in-memory pair: no port is bound.
import assert from "node:assert/strict";
import {
  Conn,
  defineAPI,
  type Handlers,
  ProtocolError,
  Server,
  type ServerOptions,
  unchecked,
} from "../mod.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import { socketPair, type TestSocket } from "./_socket_pair.ts";
import { testAPI as api, testServerOptions } from "./_api.ts";
import { pairsServedBy } from "./_pair_server.ts";

/** A raw client end that queues the frames the server sends it. */
class RawEnd {
  readonly frames: { header: { command: string; id?: string }; payload: unknown }[] = [];
  #waiters: (() => void)[] = [];
  constructor(readonly socket: TestSocket) {
    socket.addEventListener("message", (event) => {
      this.frames.push(JSON.parse((event as MessageEvent).data));
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }
  send(text: string): void {
    this.socket.send(text);
  }
  /** The next frame after the initial ping. */
  async next(): Promise<RawEnd["frames"][number]> {
    while (this.frames.length < 2) await new Promise<void>((r) => this.#waiters.push(r));
    return this.frames.splice(1, 1)[0]!;
  }
}

/** A server over the in-memory pair; `raw()` and `conn()` make clients of it. */
function start(options: Partial<ServerOptions<typeof api>> = {}) {
  const test = testServerOptions();
  const server = new Server(api, { ...test.options, ...options });
  const { pair, close } = pairsServedBy(server);
  return {
    server,
    logged: test.logged,
    hangs: test.hangs,
    raw: () => new RawEnd(pair()),
    conn: () => new Conn("ws://in-memory/", { api, webSocket: pair }),
    [Symbol.asyncDispose]: close,
  };
}

Deno.test("Server answers with the request's id, concurrently and out of order", async () => {
  await using srv = start();
  const client = srv.raw();
  client.send('{"header":{"command":"demo-sleep-request","id":"a"},"payload":{"ms":200}}');
  client.send('{"header":{"command":"demo-sleep-request","id":"b"},"payload":{"ms":1}}');
  const first = await client.next();
  const second = await client.next();
  assert.deepEqual(first, {
    header: { command: "demo-sleep-response", id: "b" },
    payload: { ms: 1 },
  });
  assert.deepEqual(second, {
    header: { command: "demo-sleep-response", id: "a" },
    payload: { ms: 200 },
  });
});

Deno.test("Server answers a payload that fails its schema with an error and keeps the connection", async () => {
  await using srv = start();
  const client = srv.raw();
  client.send('{"header":{"command":"t-count-request","id":"9"},"payload":{"count":"many"}}');
  const reply = await client.next();
  assert.deepEqual(reply.header, { command: "t-count-response", id: "9" });
  const error = (reply.payload as { error: { message: string; trace?: string } }).error;
  assert.equal(
    error.message,
    'invalid command: invalid payload for "t-count-request": count: expected an integer',
  );
  assert.equal(error.trace, undefined, "a request error has no trace");
  client.send('{"header":{"command":"t-count-request","id":"10"},"payload":{"count":2}}');
  assert.deepEqual((await client.next()).payload, { doubled: 4 });
});

Deno.test("Server keeps internal errors off the wire and logs them with the trace", async () => {
  await using srv = start();
  await using conn = srv.conn();
  await conn.connect();
  const error = await conn.call("t-secret-request", null).then(
    () => assert.fail("should reject"),
    (e) => e,
  );
  assert.ok(error instanceof ProtocolError);
  assert.equal(error.message, "internal error");
  assert.match(error.trace, /^[0-9a-f]{16}$/);
  assert.ok(!String(error).includes("hunter2"));
  assert.equal(srv.logged.length, 1);
  assert.ok(srv.logged[0]!.error.message.includes("hunter2"));
  assert.ok(srv.logged[0]!.error.message.includes(error.trace), "same trace in the log");

  const traced = await conn.call("t-traced-request", null).catch((e) => e);
  assert.ok(traced instanceof ProtocolError);
  assert.equal(traced.message, "disk sda is full");
  assert.equal(srv.logged.length, 2, "traced protocol errors are logged");
  assert.equal((srv.logged[1]!.error as ProtocolError).trace, traced.trace);

  await assert.rejects(conn.call("demo-fail-request", null), ProtocolError);
  assert.equal(srv.logged.length, 2, "request errors are not logged");
});

Deno.test("Server answers a request that times out, and aborts the handler's signal", async () => {
  await using srv = start({ requestTimeoutMs: 100 });
  await using conn = srv.conn();
  await conn.connect();
  const error = await conn.call("t-hang-request", null).catch((e) => e);
  assert.ok(error instanceof ProtocolError);
  assert.equal(error.message, "request timed out");
  assert.equal(srv.hangs.length, 1);
  assert.equal(srv.hangs[0]!.aborted, true);
  assert.equal([...srv.server.sessions.values()][0]!.inFlight, 0);
});

Deno.test("Server answers a request flood past maxInFlight with errors and stays responsive", async () => {
  await using srv = start({ maxInFlight: 4 });
  const client = srv.raw();
  for (let i = 1; i <= 10; i++) {
    client.send(`{"header":{"command":"demo-sleep-request","id":"${i}"},"payload":{"ms":300}}`);
  }
  const replies = [];
  for (let i = 0; i < 10; i++) replies.push(await client.next());
  const refused = replies.filter((r) => (r.payload as { error?: unknown }).error !== undefined);
  const served = replies.filter((r) => (r.payload as { ms?: number }).ms === 300);
  assert.equal(refused.length, 6);
  assert.equal(served.length, 4);
  assert.match(
    (refused[0]!.payload as { error: { message: string } }).error.message,
    /too many requests in flight \(limit 4\)/,
  );
  // Another connection is unaffected meanwhile.
  await using conn = srv.conn();
  await conn.connect();
  assert.equal((await conn.call("demo-echo-request", "still here")) as string, "still here");
});

// Moved from conn_fast_path_test.ts: the server runs a synchronous handler
// without a timer, and must still answer every kind of handler.
Deno.test("Server: sync, async and failing handlers still answer each request", async () => {
  let sawSignal = false;
  const server = new Server(demoAPI, {
    handlers: {
      ...demoHandlers,
      "demo-echo-request": (payload, { signal }) => {
        sawSignal = signal instanceof AbortSignal && !signal.aborted;
        return payload;
      },
      "demo-fail-request": () => {
        throw new ProtocolError("sync failure");
      },
    },
    requestTimeoutMs: 100,
  });
  const [client, serverEnd] = socketPair();
  const served = server.serveSocket(serverEnd);
  await using conn = new Conn("ws://in-memory/", { api: demoAPI, webSocket: () => client });
  await conn.connect();
  assert.deepEqual(await conn.call("demo-echo-request", { a: 1 }), { a: 1 });
  assert.ok(sawSignal, "a sync handler that reads its signal gets a live one");
  await assert.rejects(conn.call("demo-fail-request", {}), /sync failure/);
  // An async handler past requestTimeoutMs: the client gets a timeout error.
  await assert.rejects(conn.call("demo-sleep-request", { ms: 1_000 }), /request timed out/);
  assert.equal((await conn.call("demo-ping-request", { timestamp: 3 })).origintimestamp, 3);
  await conn.close();
  await served;
});

Deno.test("Server() refuses handlers it cannot route, and an API without a ping", () => {
  const table: [name: string, make: () => unknown, message: RegExp][] = [
    [
      "a handler for a command not ending in -request",
      () =>
        new Server(demoAPI, {
          handlers: { "demo-echo-response": () => null } as unknown as Handlers<typeof demoAPI>,
        }),
      /Cannot route "demo-echo-response": a request command must end in "-request"/,
    ],
    [
      "a request without its response in the API",
      () =>
        new Server(defineAPI({ ...demoAPI.definition, "t-lone-request": unchecked<null>() }), {
          handlers: { "t-lone-request": () => null } as never,
        }),
      /Cannot route "t-lone-request": the API has no "t-lone-response"/,
    ],
    [
      "an API without a ping command",
      () =>
        new Server(
          defineAPI({ "t-a-request": unchecked<null>(), "t-a-response": unchecked<null>() }),
          {
            handlers: {},
          },
        ),
      /no ping command for the first message \(set pingCommand\)/,
    ],
  ];
  for (const [name, make, message] of table) {
    assert.throws(make, (e: Error) => e instanceof TypeError && message.test(e.message), name);
  }
});
