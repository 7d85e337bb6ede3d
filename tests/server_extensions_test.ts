// The server's side of the extensions (lib/_server_extensions.ts): the offer,
// the first message that carries it, and a session's extension handlers.
import assert from "node:assert/strict";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import { FrameSocket } from "../lib/_frames.ts";
import { Router, ServedSession } from "../lib/_router.ts";
import { ServerExtensions } from "../lib/_server_extensions.ts";
import { TopicHub } from "../lib/_topic_hub.ts";
import { MemoryBus } from "../lib/topics.ts";
import { socketPair } from "./_socket_pair.ts";

function served(extensions: ServerExtensions<typeof demoAPI>, hub: TopicHub) {
  const [client, end] = socketPair();
  const router = new Router(demoAPI, { handlers: demoHandlers });
  const session = new ServedSession(router, hub, "1", new FrameSocket(end), {});
  return { client, session, extensions: extensions.of(session) };
}

Deno.test("ServerExtensions: without an offer, Go's first message and no session state", () => {
  const hub = new TopicHub(new MemoryBus());
  const none = new ServerExtensions(demoAPI, { handlers: demoHandlers }, hub);
  assert.deepEqual(none.offered, []);
  assert.equal(
    none.firstMessage("demo-ping-request", 7),
    '{"header":{"command":"demo-ping-request","id":"0"},"payload":{"timestamp":7}}',
  );
  assert.equal(served(none, hub).extensions, undefined);
});

Deno.test("ServerExtensions: the offer in the first message; describe only when named", () => {
  const hub = new TopicHub(new MemoryBus());
  const defaults = new ServerExtensions(demoAPI, { handlers: demoHandlers, extensions: true }, hub);
  assert.deepEqual(defaults.offered, ["cancel", "trace", "topics"]);
  assert.equal(
    defaults.firstMessage("demo-ping-request", 7),
    '{"header":{"command":"demo-ping-request","id":"0","wsrpc":["cancel","trace","topics"]},' +
      '"payload":{"timestamp":7}}',
  );
  const { session, extensions } = served(defaults, hub);
  assert.deepEqual(extensions?.offered, ["cancel", "trace", "topics"]);
  assert.ok(session.cancellable, "cancel offered: the session's requests are cancellable");
  assert.throws(() => extensions!.receive({ header: { command: "wsrpc-describe-request" } }));
});

Deno.test("ServerExtensions: a describe request is answered with the handled commands", async () => {
  const hub = new TopicHub(new MemoryBus());
  const all = new ServerExtensions(
    demoAPI,
    { handlers: demoHandlers, extensions: ["describe"] },
    hub,
  );
  const { client, extensions } = served(all, hub);
  const answers: string[] = [];
  client.addEventListener("message", (e) => answers.push((e as MessageEvent).data));
  extensions!.receive({
    header: { command: "wsrpc-hello" },
    payload: { extensions: ["describe"] },
  });
  extensions!.receive({ header: { command: "wsrpc-describe-request", id: "d1" }, payload: {} });
  await new Promise((resolve) => setTimeout(resolve, 0));
  const answer = JSON.parse(answers[0]!);
  assert.deepEqual(answer.header, { command: "wsrpc-describe-response", id: "d1" });
  const commands = answer.payload.commands.map((c: { command: string }) => c.command);
  assert.ok(commands.includes("demo-echo-request"));
});
