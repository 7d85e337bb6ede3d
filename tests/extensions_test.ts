/**
 * The extension negotiation (lib/_extensions.ts): the offer on the first
 * message, the client's `wsrpc-hello`, and what a hostile or out-of-turn
 * reserved frame gets. Pure parsing as table tests; the exchange over real
 * sockets (`Deno.serve` on 127.0.0.1).
 */
import assert from "node:assert/strict";
import { Conn, ConnectionClosedError } from "../mod.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import {
  clientAccept,
  encodeFirstMessage,
  encodeHello,
  offerOf,
  serverOffer,
  SessionExtensions,
} from "../lib/_extensions.ts";
import { InvalidCommandError } from "../lib/errors.ts";
import { delay, RawClient, rawConnect, startServer } from "./_server.ts";

Deno.test("offerOf: only an array of at most 32 strings offers; unknown names are dropped", () => {
  const first = (wsrpc: unknown) => ({ header: { command: "x-ping-request", id: "0", wsrpc } });
  assert.deepEqual(offerOf(first(["trace", "cancel", "future", "trace"])), ["cancel", "trace"]);
  assert.deepEqual(offerOf(first(undefined)), []);
  assert.deepEqual(offerOf(first("cancel")), []);
  assert.deepEqual(offerOf(first(["cancel", 7])), []);
  assert.deepEqual(offerOf(first(Array(33).fill("cancel"))), []);
  assert.deepEqual(offerOf({ header: { command: "x-ping-request", id: "0" } }), []);
  assert.deepEqual(offerOf(null), []);
  assert.deepEqual(offerOf("text"), []);
});

Deno.test("encodeFirstMessage: the Go ping byte for byte without an offer; one header key with", () => {
  assert.equal(
    encodeFirstMessage("x-ping-request", 5, []),
    '{"header":{"command":"x-ping-request","id":"0"},"payload":{"timestamp":5}}',
  );
  assert.equal(
    encodeFirstMessage("x-ping-request", 5, ["cancel", "trace"]),
    '{"header":{"command":"x-ping-request","id":"0","wsrpc":["cancel","trace"]},"payload":{"timestamp":5}}',
  );
  assert.equal(
    encodeHello(["cancel"]),
    '{"header":{"command":"wsrpc-hello"},"payload":{"extensions":["cancel"]}}',
  );
});

Deno.test("serverOffer and clientAccept: defaults, explicit lists, only implemented names", () => {
  const all = ["cancel", "describe", "trace"] as const;
  assert.deepEqual(serverOffer(undefined, all), []);
  assert.deepEqual(serverOffer(false, all), []);
  assert.deepEqual(serverOffer(true, all), ["cancel", "trace"]); // describe is opt-in
  assert.deepEqual(serverOffer(["describe", "topics", "bogus"], all), ["describe"]);
  assert.deepEqual(clientAccept(["cancel", "trace", "topics"], undefined, all), [
    "cancel",
    "trace",
  ]);
  assert.deepEqual(clientAccept(["cancel", "trace"], ["trace"], all), ["trace"]);
  assert.deepEqual(clientAccept(["cancel"], [], all), []);
});

Deno.test("SessionExtensions: a hello once; reserved frames out of turn throw", () => {
  const handled: string[] = [];
  const ext = new SessionExtensions(["cancel", "trace"]);
  ext.on("wsrpc-cancel", { handle: (f) => handled.push(f.id) });
  assert.equal(ext.receive({ header: { command: "demo-ping-request", id: "1" } }), false);
  const cancel = { header: { command: "wsrpc-cancel" }, payload: { id: "1" } };
  assert.throws(() => ext.receive(cancel), /before extension "cancel" was negotiated/);
  const hello = (extensions: unknown) => ({
    header: { command: "wsrpc-hello" },
    payload: { extensions },
  });
  assert.throws(() => ext.receive(hello("cancel")), InvalidCommandError);
  assert.throws(() => ext.receive(hello([1])), /array of at most 32 strings/);
  assert.throws(() => ext.receive({ header: { command: "wsrpc-hello" } }), InvalidCommandError);
  assert.equal(ext.receive(hello(["cancel", "describe", "nonsense"])), true);
  assert.deepEqual(ext.accepted, ["cancel"]); // describe was not offered
  assert.equal(ext.has("trace"), false);
  assert.throws(() => ext.receive(hello(["cancel"])), /second wsrpc-hello/);
  assert.throws(() => ext.receive({ header: { command: "wsrpc-nope" } }), /unknown command/);
  assert.equal(ext.receive(cancel), true);
  assert.deepEqual(handled, [""]);
});

Deno.test("negotiation over sockets: a server with extensions offers, Conn accepts with one hello", async () => {
  await using ts = startServer(demoAPI, { handlers: demoHandlers, extensions: true });
  const sent: unknown[] = [];
  const conn = new Conn(ts.url, {
    api: demoAPI,
    onMessage: (d, m) => d === "send" && sent.push(m),
  });
  await conn.connect();
  try {
    assert.deepEqual(conn.extensions, ["cancel", "trace", "topics"]);
    assert.deepEqual(await conn.call("demo-echo-request", "hi"), "hi");
  } finally {
    await conn.close();
  }
  // The hello goes on the socket, not through onMessage's "send" (it is not the user's traffic).
  assert.deepEqual(sent.map((m) => (m as { header: { command: string } }).header.command), [
    "demo-echo-request",
  ]);
});

Deno.test("negotiation over sockets: the raw frames, and a client that declines sends no hello", async () => {
  await using ts = startServer(demoAPI, {
    handlers: demoHandlers,
    extensions: ["trace", "describe"],
  });
  await using raw = new RawClient(ts.url);
  await raw.opened;
  const first = await raw.next();
  assert.deepEqual((first.header as Record<string, unknown>).wsrpc, ["describe", "trace"]);
  // A client that accepts nothing says nothing, and is served as before.
  const conn = new Conn(ts.url, { api: demoAPI, extensions: [] });
  await conn.connect();
  assert.deepEqual(conn.extensions, []);
  assert.equal(await conn.call("demo-echo-request", 1), 1);
  await conn.close();
});

/**
 * A server with (or without) extensions, a raw client that sends `frames`
 * after the ping: how the connection closed. When the server keeps it up, an
 * echo is answered and the client closes (1005, no status).
 */
async function closeAfter(
  frames: unknown[],
  extensions: boolean,
): Promise<{ code: number; reason: string }> {
  await using ts = startServer(demoAPI, { handlers: demoHandlers, extensions });
  const raw = await rawConnect(ts.url);
  for (const frame of frames) raw.send(JSON.stringify(frame));
  const closedFirst = await Promise.race([
    raw.closed.then(() => true),
    delay(200).then(() => false),
  ]);
  if (!closedFirst) {
    raw.send(JSON.stringify({ header: { command: "demo-echo-request", id: "9" }, payload: 9 }));
    assert.deepEqual(await raw.next(), {
      header: { command: "demo-echo-response", id: "9" },
      payload: 9,
    });
    raw.socket.close();
  }
  return await raw.closed;
}

const hello = (extensions: unknown) => ({
  header: { command: "wsrpc-hello" },
  payload: { extensions },
});

Deno.test("hostile reserved frames get 1008 with the reason; unknown names are ignored", async () => {
  const cases: [string, unknown[], boolean, number, string][] = [
    ["a hello with unknown names", [hello(["zzz", "cancel"])], true, 1005, ""],
    [
      "a second hello",
      [hello(["cancel"]), hello(["cancel"])],
      true,
      1008,
      "invalid command: second wsrpc-hello",
    ],
    [
      "a hello of the wrong type",
      [hello({ cancel: true })],
      true,
      1008,
      'invalid command: wsrpc-hello: "extensions" must be an array of at most 32 strings',
    ],
    [
      "a huge hello",
      [hello(Array(1000).fill("cancel"))],
      true,
      1008,
      'invalid command: wsrpc-hello: "extensions" must be an array of at most 32 strings',
    ],
    [
      "a cancel before the hello",
      [{ header: { command: "wsrpc-cancel" }, payload: { id: "1" } }],
      true,
      1008,
      'invalid command: "wsrpc-cancel" before extension "cancel" was negotiated',
    ],
    [
      "an unknown reserved command",
      [hello([]), { header: { command: "wsrpc-bogus" } }],
      true,
      1008,
      'invalid command: unknown command "wsrpc-bogus"',
    ],
    [
      "a hello to a server without extensions",
      [hello(["cancel"])],
      false,
      1008,
      'invalid command: unknown command "wsrpc-hello"',
    ],
  ];
  for (const [name, frames, extensions, code, reason] of cases) {
    const status = await closeAfter(frames, extensions);
    assert.deepEqual(status, { code, reason }, name);
  }
});

Deno.test("a Conn against a server without extensions: no offer, no hello, calls as before", async () => {
  await using ts = startServer(demoAPI, { handlers: demoHandlers });
  const conn = new Conn(ts.url, { api: demoAPI });
  await conn.connect();
  assert.deepEqual(conn.extensions, []);
  assert.equal(await conn.call("demo-echo-request", "x"), "x");
  await conn.close();
  await assert.rejects(conn.call("demo-echo-request", "x"), ConnectionClosedError);
});
