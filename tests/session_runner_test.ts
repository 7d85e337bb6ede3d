// One session's life (lib/_session_runner.ts) over the in-memory pair:
// refused by `authorize`, resumed as admitted, closed when idle.
import assert from "node:assert/strict";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import { FrameSocket } from "../lib/_frames.ts";
import { Router, ServedSession } from "../lib/_router.ts";
import { ServerExtensions } from "../lib/_server_extensions.ts";
import { SessionRunner, type SessionRunnerOptions } from "../lib/_session_runner.ts";
import { TopicHub } from "../lib/_topic_hub.ts";
import { MemoryBus } from "../lib/topics.ts";
import { socketPair } from "./_socket_pair.ts";

/** Waits until `frames` holds `count` frames (each arrives in a later task). */
async function frames(received: string[], count: number): Promise<void> {
  while (received.length < count) await new Promise((resolve) => setTimeout(resolve, 1));
}

function harness(options: SessionRunnerOptions<typeof demoAPI> = {}) {
  const hub = new TopicHub(new MemoryBus());
  const router = new Router(demoAPI, { handlers: demoHandlers });
  const extensions = new ServerExtensions(demoAPI, { handlers: demoHandlers }, hub);
  const runner = new SessionRunner(router, hub, extensions, "demo-ping-request", options);
  const [client, end] = socketPair();
  const received: string[] = [];
  client.addEventListener("message", (e) => received.push((e as MessageEvent).data));
  const served = new ServedSession(router, hub, "1", new FrameSocket(end), {});
  return { runner, client, received, served };
}

Deno.test("SessionRunner: authorize refuses with 4100, before the first message", async () => {
  const opened: string[] = [];
  const { runner, received, served } = harness({
    authorize: () => false,
    onSessionOpen: (session) => opened.push(session.id),
  });
  await runner.run(served, undefined);
  assert.deepEqual(await served.session.closed, { code: 4100, reason: "invalid public key" });
  assert.deepEqual(received, []);
  assert.deepEqual(opened, []);
});

Deno.test("SessionRunner: the first message, then requests until the client goes", async () => {
  const { runner, client, received, served } = harness();
  const run = runner.run(served, undefined);
  await frames(received, 1);
  assert.match(received[0]!, /^\{"header":\{"command":"demo-ping-request","id":"0"\}/);
  client.send('{"header":{"command":"demo-echo-request","id":"1"},"payload":"hi"}');
  await frames(received, 2);
  assert.equal(received[1], '{"header":{"command":"demo-echo-response","id":"1"},"payload":"hi"}');
  client.close(1000, "");
  await run;
  assert.equal(served.session.signal.aborted, true);
});

Deno.test("SessionRunner: resumed as admitted, served at once with its peer and no ping", async () => {
  const { runner, client, received, served } = harness({ authorize: () => false });
  const peer = { publicKey: "ab".repeat(32), userAgent: "x" };
  const run = runner.run(served, { admitted: true, peer });
  assert.equal(served.peer, peer);
  client.send('{"header":{"command":"demo-echo-request","id":"2"},"payload":1}');
  await frames(received, 1);
  assert.deepEqual(received, ['{"header":{"command":"demo-echo-response","id":"2"},"payload":1}']);
  client.close(1000, "");
  await run;
});

Deno.test("SessionRunner: a session that sends nothing is closed with 1008 idle timeout", async () => {
  const { runner, served } = harness({ idleTimeoutMs: 20 });
  await runner.run(served, undefined);
  assert.deepEqual(await served.session.closed, { code: 1008, reason: "idle timeout" });
});
