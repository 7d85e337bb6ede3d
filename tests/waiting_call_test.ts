// The slow call path (lib/_waiting_call.ts) on a Link: waiting for the
// connection within the call's own timeout, and in order when already online.
import assert from "node:assert/strict";
import { schemalessAPI } from "../lib/api.ts";
import { CallTable } from "../lib/_call_table.ts";
import { ClientExtensions } from "../lib/_client_extensions.ts";
import { Inbox } from "../lib/_inbox.ts";
import { Link } from "../lib/_link.ts";
import { PushQueue } from "../lib/_push_queue.ts";
import { waitingCall } from "../lib/_waiting_call.ts";
import { socketPair, type TestSocket } from "./_socket_pair.ts";

/** A Link over one in-memory pair whose server end sends its ping when told. */
function harness() {
  const [client, server] = socketPair();
  const received: string[] = [];
  server.addEventListener("message", (e) => received.push((e as MessageEvent).data));
  const calls = new CallTable(schemalessAPI);
  const pushes = new PushQueue(undefined, undefined);
  const extensions = new ClientExtensions(undefined, undefined, calls, undefined);
  const link = new Link("ws://in-memory.test/", { webSocket: () => client }, {
    calls,
    extensions,
    inbox: new Inbox(schemalessAPI, calls, pushes),
    pushes,
    keepalive: undefined,
  });
  const greet = () => server.send('{"header":{"command":"x-ping-request","id":"0"}}');
  return { link, server: server as TestSocket, received, greet };
}

Deno.test("waitingCall: a call made while connecting goes out once online and gets its answer", async () => {
  const { link, server, received, greet } = harness();
  const connected = link.connect(undefined);
  const answer = waitingCall(link, "x-echo-request", "hi", {});
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(received, []); // nothing before the first message
  greet();
  await connected;
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(received, ['{"header":{"command":"x-echo-request","id":"1"},"payload":"hi"}']);
  server.send('{"header":{"command":"x-echo-response","id":"1"},"payload":"hi"}');
  assert.equal(await answer, "hi");
  assert.equal(link.calls.size, 0);
  await link.close(1000, "");
});

Deno.test("waitingCall: its timeout covers the wait for the connection", async () => {
  const { link } = harness();
  const connected = link.connect(undefined);
  await assert.rejects(waitingCall(link, "x-echo-request", "hi", { timeoutMs: 20 }), {
    name: "TimeoutError",
  });
  assert.equal(link.calls.size, 0);
  await link.close(1000, "");
  await assert.rejects(connected);
});

Deno.test("waitingCall: online, the request is written in the caller's turn, with the id given", async () => {
  const { link, server, greet } = harness();
  greet();
  await link.connect(undefined);
  const signal = new AbortController().signal;
  const answer = waitingCall(link, "x-echo-request", 1, { signal }, "mine-1");
  assert.deepEqual(server.peer.sent, [
    '{"header":{"command":"x-echo-request","id":"mine-1"},"payload":1}',
  ]);
  server.send('{"header":{"command":"x-echo-response","id":"mine-1"},"payload":1}');
  assert.equal(await answer, 1);
  await link.close(1000, "");
});
