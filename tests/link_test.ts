// The client's connection (lib/_link.ts) without a Conn around it: its state
// machine over in-memory pairs whose server end speaks first.
import assert from "node:assert/strict";
import { schemalessAPI } from "../lib/api.ts";
import { CallTable } from "../lib/_call_table.ts";
import { ClientExtensions } from "../lib/_client_extensions.ts";
import { ConnectionClosedError } from "../lib/errors.ts";
import { Inbox } from "../lib/_inbox.ts";
import { Link, type LinkOptions } from "../lib/_link.ts";
import { PushQueue } from "../lib/_push_queue.ts";
import { socketPair, type TestSocket } from "./_socket_pair.ts";

const ping = '{"header":{"command":"x-ping-request","id":"0"}}';

/** A Link whose every dial is a fresh pair; `answer` says whether its server end sends the ping. */
function harness(options: LinkOptions = {}, answer = () => true) {
  const servers: TestSocket[] = [];
  const calls = new CallTable(schemalessAPI);
  const pushes = new PushQueue(undefined, undefined);
  const extensions = new ClientExtensions(undefined, undefined, calls, undefined);
  const inbox = new Inbox(schemalessAPI, calls, pushes);
  const link = new Link("ws://in-memory.test/", {
    ...options,
    webSocket: () => {
      const [client, server] = socketPair();
      servers.push(server);
      if (answer()) server.send(ping);
      return client;
    },
  }, { calls, extensions, inbox, pushes, keepalive: undefined });
  return { link, calls, pushes, servers };
}

Deno.test("Link: idle, connecting, online; a drop without reconnect is idle and fails pending calls", async () => {
  const { link, calls, servers } = harness();
  assert.equal(link.state, "idle");
  await assert.rejects(link.waitOnline(new AbortController().signal), ConnectionClosedError);
  const connecting = link.connect(undefined);
  assert.equal(link.state, "connecting");
  await connecting;
  assert.equal(link.state, "online");
  assert.equal(link.connectCount, 1);
  assert.ok(link.ws);
  const call = calls.open(calls.newID(), "x-hang-request", true, 0);
  servers[0]!.close(1011, "gone");
  await assert.rejects(call.promise, (e) => e instanceof ConnectionClosedError && e.code === 1011);
  assert.equal(link.state, "idle");
  assert.equal(link.ws, undefined);
  // What waits for the connection now gets why it ended.
  await assert.rejects(
    link.waitOnline(new AbortController().signal),
    (e) => e instanceof ConnectionClosedError && e.code === 1011,
  );
  assert.ok(link.readEnded() instanceof ConnectionClosedError);
});

Deno.test("Link: after a drop it reconnects with backoff; waitOnline resolves with the new socket", async () => {
  let dials = 0;
  // The first reconnect attempt gets no first message and times out; the next succeeds.
  const { link, servers } = harness(
    { reconnect: { initialDelayMs: 1, jitter: 0 }, connectTimeoutMs: 50 },
    () => ++dials !== 2,
  );
  await link.connect(undefined);
  const first = link.ws;
  servers[0]!.drop();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(link.state, "reconnecting");
  assert.equal(link.readEnded(), undefined); // reads keep waiting through a reconnect
  const ws = await link.waitOnline(AbortSignal.timeout(2_000));
  assert.equal(link.state, "online");
  assert.notEqual(ws, first);
  assert.equal(ws, link.ws);
  assert.equal(dials, 3);
  assert.equal(link.connectCount, 2);
  await link.close(1000, "");
});

Deno.test("Link: close() during a dial ends it at once and for good", async () => {
  const { link } = harness({}, () => false); // the server never speaks
  const connecting = link.connect(undefined);
  const waiting = link.waitOnline(new AbortController().signal);
  await link.close(4000, "bye");
  await assert.rejects(connecting, (e) => e instanceof ConnectionClosedError && e.code === 4000);
  await assert.rejects(waiting, (e) => e instanceof ConnectionClosedError && e.code === 4000);
  assert.equal(link.state, "closed");
  assert.ok(link.readEnded() instanceof ConnectionClosedError);
});
