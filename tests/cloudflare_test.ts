/**
 * The Cloudflare adapter in real workerd (the pinned npm package): both
 * examples of examples/cloudflare/ (a plain Worker on /v1/ws, Durable
 * Objects on /room/* and /secure/*) started on an ephemeral loopback port,
 * driven by `Conn` on Deno and on Bun, the wsrpc CLI, the Go peer client and
 * headless Chromium; the bad-frame close table; and sessions that survive
 * hibernation. workerd hibernates an idle Durable Object after 10 s (its
 * `ActorContainer` eviction: the object is dropped, its sockets stay open and
 * a new instance gets their next message), so the test idles 11 s, twice.
 */
import assert from "node:assert/strict";
import { defineAPI, ed25519Client, Server, unchecked, WSConn } from "../mod.ts";
import { type CloudflareWebSocket, createDurableObjectHandler } from "../lib/cloudflare.ts";
import { encodeHex, generateKeyPair } from "../lib/ed25519_keys.ts";
import { startWorkerd, type Workerd } from "../examples/cloudflare/run.ts";
import type { ClientResult } from "./cloudflare/client.ts";
import { bundleForBrowser } from "./interop/_process.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const GOPEER_BUILD = new URL("../../shared/gopeer/build.sh", import.meta.url).pathname;
const GOPEER = `${ROOT}.tmp/gopeer/gopeer`;
const CHROMIUM = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";
const HIBERNATION_MS = 11_000; // workerd evicts an idle object after 10 s
const decoder = new TextDecoder();

/** Opens a raw WebSocket and collects its frames. */
async function raw(url: string): Promise<{
  ws: WebSocket;
  frames: string[];
  closed: Promise<{ code: number; reason: string }>;
}> {
  const ws = new WebSocket(url);
  const frames: string[] = [];
  ws.onmessage = (event) => frames.push(event.data);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.onclose = (event) => resolve({ code: event.code, reason: event.reason });
  });
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
  });
  return { ws, frames, closed };
}

async function until(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function checkClient(result: ClientResult): void {
  assert.equal(result.error, undefined, `${result.url}: ${result.error}`);
  assert.equal(result.pong, 1234);
  assert.equal(result.echoBig, `${2n ** 63n + 1n}`);
  assert.deepEqual(result.pushes, [1, 2, 3]);
  assert.equal(result.failure, "demo failure, as requested");
}

async function exec(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  const result = await new Deno.Command(cmd, {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(120_000),
  }).output();
  return {
    code: result.code,
    out: decoder.decode(result.stdout) + decoder.decode(result.stderr),
  };
}

/** A hibernatable socket's stand-in: its attachment is a structured clone, as in workerd. */
function fakeSocket(attachment: unknown, maxAttachment = 16 * 1024) {
  const sent: string[] = [];
  const closes: { code: number | undefined; reason: string | undefined }[] = [];
  let kept = structuredClone(attachment);
  const ws: CloudflareWebSocket = {
    readyState: 1,
    send: (text) => void sent.push(text),
    close: (code, reason) => void closes.push({ code, reason }),
    serializeAttachment(value) {
      if (JSON.stringify(value).length > maxAttachment) throw new Error("attachment too large");
      kept = structuredClone(value);
    },
    deserializeAttachment: () => structuredClone(kept),
  };
  return {
    ws,
    sent,
    closes,
    attachment: () => kept as { topics?: string[]; extensions?: string[] },
  };
}

const topicAPI = defineAPI({
  "x-ping-request": unchecked<{ timestamp: number }>(),
  "x-ping-response": unchecked<{ origintimestamp: number; timestamp: number }>(),
  "x-sub-request": unchecked<{ topic: string }>(),
  "x-sub-response": unchecked<null>(),
  "x-unsub-request": unchecked<{ topic: string }>(),
  "x-unsub-response": unchecked<null>(),
  "x-pub-request": unchecked<{ topic: string; n: number }>(),
  "x-pub-response": unchecked<{ seq: number; epoch: string }>(),
  "x-news-notification": unchecked<{ n: number }>(),
});

/** One life of a Durable Object: a new server and adapter over the same sockets. */
function life(sockets: CloudflareWebSocket[], extensions?: ["topics"]) {
  const server: Server<typeof topicAPI> = new Server(topicAPI, {
    ...(extensions === undefined ? {} : { extensions }),
    handlers: {
      "x-sub-request": ({ topic }, { session }) => session.subscribe(topic).then(() => null),
      "x-unsub-request": ({ topic }, { session }) => (session.unsubscribe(topic), null),
      "x-pub-request": ({ topic, n }) => server.publish(topic, "x-news-notification", { n }),
    },
  });
  const handler = createDurableObjectHandler(server, {
    acceptWebSocket: () => {},
    getWebSockets: () => sockets,
  });
  const call = (ws: CloudflareWebSocket, id: string, command: string, payload: unknown) =>
    handler.webSocketMessage(ws, JSON.stringify({ header: { command, id }, payload }));
  return { server, handler, call };
}

const ADMITTED = { wsrpc: 1, url: "http://localhost/", startedAt: 0, admitted: true, inFlight: 0 };
const news = (n: number) => `{"header":{"command":"x-news-notification"},"payload":{"n":${n}}}`;

Deno.test("Cloudflare adapter: subscriptions survive hibernation in the attachment", async () => {
  const a = fakeSocket(ADMITTED);
  const b = fakeSocket(ADMITTED);
  const first = life([a.ws, b.ws]);
  await first.call(a.ws, "1", "x-sub-request", { topic: "news" });
  await first.call(b.ws, "1", "x-sub-request", { topic: "other" });
  await first.call(b.ws, "2", "x-sub-request", { topic: "news" });
  await first.call(b.ws, "3", "x-unsub-request", { topic: "other" });
  assert.deepEqual(a.attachment().topics, ["news"]);
  assert.deepEqual(b.attachment().topics, ["news"]);
  // Hibernation: the object is dropped (its sockets stay open); a new instance gets the next event.
  a.sent.length = b.sent.length = 0;

  const second = life([a.ws, b.ws]);
  // The waking event itself publishes: both sockets' subscriptions are renewed first.
  await second.call(b.ws, "4", "x-pub-request", { topic: "news", n: 1 });
  assert.deepEqual(a.sent, [news(1)]);
  assert.equal(b.sent[0], news(1));
  assert.match(
    b.sent[1]!,
    /^\{"header":\{"command":"x-pub-response","id":"4"\},"payload":\{"seq":1,/,
  );
  // Broadcasts reach restored sessions; unsubscribing is kept too.
  await second.server.broadcast("x-news-notification", { n: 2 });
  assert.equal(a.sent.at(-1), news(2));
  await second.call(a.ws, "5", "x-unsub-request", { topic: "news" });
  assert.equal(a.attachment().topics, undefined);
  a.sent.length = b.sent.length = 0;

  // From the object's own code: restore() first, then publish.
  const third = life([a.ws, b.ws]);
  await third.handler.restore();
  await third.server.publish("news", "x-news-notification", { n: 3 });
  assert.deepEqual(b.sent, [news(3)]);
  assert.deepEqual(a.sent, []);
  await third.server.shutdown({ graceMs: 0 });
});

Deno.test("Cloudflare adapter: a restored session keeps its extensions; a new epoch per life", async () => {
  const a = fakeSocket(ADMITTED);
  const first = life([a.ws], ["topics"]);
  await first.handler.webSocketMessage(
    a.ws,
    '{"header":{"command":"wsrpc-hello"},"payload":{"extensions":["topics"]}}',
  );
  assert.deepEqual(a.attachment().extensions, ["topics"]);
  await first.call(a.ws, "1", "x-sub-request", { topic: "news" });
  await first.call(a.ws, "2", "x-pub-request", { topic: "news", n: 1 });
  const keyed =
    /^\{"header":\{"command":"x-news-notification","topic":"news","seq":1,"epoch":"([^"]+)"\}/;
  const epoch1 = a.sent.find((frame) => keyed.test(frame))?.match(keyed)?.[1];
  assert.ok(epoch1, a.sent.join("\n"));
  a.sent.length = 0;

  const second = life([a.ws], ["topics"]);
  await second.call(a.ws, "3", "x-pub-request", { topic: "news", n: 2 });
  // Still keyed (the hello was kept), in the new life's epoch, from seq 1.
  const epoch2 = a.sent[0]?.match(keyed)?.[1];
  assert.ok(epoch2, a.sent.join("\n"));
  assert.notEqual(epoch2, epoch1);
  // A second hello is refused as before: the kept one counts.
  await second.handler.webSocketMessage(
    a.ws,
    '{"header":{"command":"wsrpc-hello"},"payload":{"extensions":["topics"]}}',
  );
  assert.deepEqual(a.closes, [{ code: 1008, reason: "invalid command: second wsrpc-hello" }]);
  second.handler.webSocketClose(a.ws, 1008, "");
  await second.server.shutdown({ graceMs: 0 });
});

Deno.test("Cloudflare adapter: subscriptions that outgrow the attachment close the session", async () => {
  const a = fakeSocket(ADMITTED, 2048);
  const { server, handler, call } = life([a.ws]);
  await call(a.ws, "1", "x-sub-request", { topic: "t".repeat(1000) });
  assert.deepEqual(a.closes, []);
  await call(a.ws, "2", "x-sub-request", { topic: "u".repeat(1000) });
  assert.deepEqual(a.closes, [{
    code: 1008,
    reason: "subscriptions too large to keep across hibernation",
  }]);
  handler.webSocketClose(a.ws, 1008, "");
  await server.shutdown({ graceMs: 0 });
});

Deno.test("Cloudflare: the Worker and Durable Object examples in workerd", async (t) => {
  let workerd: Workerd | undefined;
  try {
    workerd = await startWorkerd(0);
    const base = `ws://127.0.0.1:${workerd.port}`;
    const urls = [`${base}/v1/ws`, `${base}/room/clients`];

    await t.step("admission: 426 for a plain request, 404 off the routes", async () => {
      const plain = await fetch(`http://127.0.0.1:${workerd!.port}/room/x`);
      assert.equal(plain.status, 426);
      await plain.body?.cancel();
      const fallback = await fetch(`http://127.0.0.1:${workerd!.port}/v1/ws`);
      assert.equal(fallback.status, 200); // the Worker's fallback
      await fallback.body?.cancel();
      const off = await fetch(`http://127.0.0.1:${workerd!.port}/nowhere`);
      assert.equal(off.status, 404);
      await off.body?.cancel();
    });

    await t.step('the first message is a ping with id "0", on both', async () => {
      for (const url of urls) {
        const client = await raw(url);
        await until(() => client.frames.length > 0, "the first ping");
        assert.match(client.frames[0]!, /^\{"header":\{"command":"demo-ping-request","id":"0"\}/);
        client.ws.close();
        await client.closed;
      }
    });

    await t.step("Conn on Deno: calls, pushes, errors", async () => {
      const { runClient } = await import("./cloudflare/client.ts");
      for (const result of await runClient(urls)) checkClient(result);
    });

    await t.step("Conn on Bun", async () => {
      const bun = await exec("bun", ["tests/cloudflare/client.ts", ...urls]);
      assert.equal(bun.code, 0, bun.out);
      const results = JSON.parse(bun.out.trim().split("\n").at(-1)!) as ClientResult[];
      assert.equal(results.length, 2);
      for (const result of results) checkClient(result);
    });

    await t.step("the wsrpc CLI", async () => {
      for (const url of urls) {
        const call = await exec(Deno.execPath(), [
          "run",
          "-A",
          "lib/cli/main.ts",
          "call",
          url,
          "demo-echo-request",
          '{"via":"cli"}',
        ]);
        assert.equal(call.code, 0, call.out);
        assert.match(call.out, /"via":\s*"cli"/);
      }
    });

    await t.step("the Go peer client (nhooyr.io/websocket)", async () => {
      const build = await exec("sh", [GOPEER_BUILD, GOPEER]);
      assert.equal(build.code, 0, `building gopeer failed (is Go installed?)\n${build.out}`);
      for (const url of urls) {
        const go = await exec(GOPEER, ["client", "-url", url, "-n", "200", "-c", "10"]);
        assert.equal(go.code, 0, go.out);
        assert.match(go.out, /^initial message: demo-ping-request id=0/m);
        assert.match(go.out, /^echo: ok, payload semantically equal \(bytes identical: true\)$/m);
        assert.match(go.out, /^notify: ok/m);
        assert.match(go.out, /^ok 200 calls, \d+ calls\/s$/m);
      }
    });

    await t.step("Conn in headless Chromium", async () => {
      const dir = await Deno.makeTempDir({ prefix: "wsrpc-cf-browser-" });
      await bundleForBrowser(`${ROOT}tests/cloudflare/page.ts`, `${dir}/page.js`);
      const script = await Deno.readTextFile(`${dir}/page.js`);
      await Deno.remove(dir, { recursive: true });
      const html =
        '<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>';
      await using http = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen: () => {} },
        (req) =>
          new URL(req.url).pathname === "/page.js"
            ? new Response(script, { headers: { "content-type": "text/javascript" } })
            : new Response(html, { headers: { "content-type": "text/html" } }),
      );
      const page = `http://127.0.0.1:${http.addr.port}/?urls=${encodeURIComponent(urls.join(","))}`;
      const driver = await exec("node", [
        `${ROOT}tests/browser/driver.mjs`,
        `${ROOT}tools/node_modules/playwright-core`,
        CHROMIUM,
        page,
        "cloudflareResults",
      ]);
      assert.equal(driver.code, 0, driver.out);
      const json = driver.out.trim().split("\n").find((line) =>
        line.startsWith('{"browserVersion"')
      );
      const { results, userAgent } = JSON.parse(json!).cloudflareResults;
      assert.match(userAgent, /Chrome\//);
      assert.equal(results.length, 2);
      for (const result of results) checkClient(result);
    });

    await t.step("bad frames close with the same codes as on Deno and Bun", async (t) => {
      const table: [string, string | Uint8Array, number, RegExp][] = [
        ["malformed JSON", '{"header":', 1007, /failed to unmarshal JSON/],
        ["a binary frame", new Uint8Array([1, 2, 3]), 1003, /expected text message/],
        [
          "a frame over the read limit",
          JSON.stringify({ s: "x".repeat(600 * 1024) }),
          1009,
          /read limited at 524288 bytes/,
        ],
        ["nesting over the depth limit", "[".repeat(65) + "]".repeat(65), 1009, /nested deeper/],
        ["a missing header", '{"payload":null}', 1008, /field "header" is missing/],
        [
          "an unknown command",
          '{"header":{"command":"evil-request","id":"1"}}',
          1008,
          /invalid command: unknown command "evil-request"/,
        ],
      ];
      for (const url of urls) {
        for (const [name, frame, code, reason] of table) {
          await t.step(`${new URL(url).pathname}: ${name}: close ${code}`, async () => {
            const client = await raw(url);
            client.ws.send(frame);
            const status = await client.closed;
            assert.equal(status.code, code);
            assert.match(status.reason, reason);
          });
        }
      }
      // Others are unaffected.
      const { runClient } = await import("./cloudflare/client.ts");
      for (const result of await runClient(urls)) checkClient(result);
    });

    await t.step("the ed25519 handshake and the session survive hibernation", async () => {
      const key = await generateKeyPair();
      const whoami = async (conn: WSConn, id: string, pinged = true) => {
        await conn.writeJSON({ header: { command: "room-whoami-request", id }, payload: null });
        for (;;) {
          const frame = await conn.readJSON() as { header: { command: string; id?: string } };
          if (frame.header.id === id) {
            return frame as unknown as { payload: { life: number; peer: string | null } };
          }
          if (frame.header.id === "0" && !pinged) pinged = true;
          else assert.fail(`unexpected ${JSON.stringify(frame)} (a second first ping?)`);
        }
      };
      // Which life the next new object will be (module-wide count of objects made).
      const probe = new WSConn(new WebSocket(`${base}/room/probe`));
      const before = (await whoami(probe, "p", false)).payload.life;
      probe.close();
      await probe.closed;

      const conn = new WSConn(new WebSocket(`${base}/secure/hibernating`));
      // The client answers the challenge only after the object has hibernated.
      let paused = false;
      const slow = {
        readJSON: (signal?: AbortSignal) => conn.readJSON(signal),
        async writeJSON(value: unknown, signal?: AbortSignal) {
          const command = (value as { header: { command: string } }).header.command;
          if (command === "ed25519-hello-challenge-accepted") {
            paused = true;
            await new Promise((resolve) => setTimeout(resolve, HIBERNATION_MS));
          }
          await conn.writeJSON(value, signal);
        },
      };
      await ed25519Client({ secretKey: key.secretKey, userAgent: "hibernation-test" })
        .handshakeClient(slow, AbortSignal.timeout(60_000));
      assert.ok(paused);
      const first = await conn.readJSON() as { header: { command: string; id: string } };
      assert.deepEqual(first.header, { command: "demo-ping-request", id: "0" });
      const after = await whoami(conn, "1");
      assert.equal(after.payload.peer, encodeHex(key.publicKey));
      // A new instance finished the handshake: the one that sent the challenge was `before + 1`.
      assert.ok(after.payload.life >= before + 2, `life ${after.payload.life}, before ${before}`);

      // Idle again: the next life serves the same session, with its peer, without a new ping.
      await new Promise((resolve) => setTimeout(resolve, HIBERNATION_MS));
      const later = await whoami(conn, "2");
      assert.equal(later.payload.peer, encodeHex(key.publicKey));
      assert.ok(later.payload.life > after.payload.life, `life ${later.payload.life}`);
      conn.close();
      await conn.closed;
    });
    await t.step("topics: a publish reaches sockets subscribed before a hibernation", async () => {
      const room = `${base}/room/topics`;
      let nextId = 0;
      const call = async (
        client: Awaited<ReturnType<typeof raw>>,
        command: string,
        payload: unknown,
      ) => {
        const id = String(++nextId);
        client.ws.send(JSON.stringify({ header: { command, id }, payload }));
        let answer: { header: { id?: string }; payload: Record<string, unknown> } | undefined;
        await until(() => {
          answer = client.frames.map((f) => JSON.parse(f)).find((f) => f.header.id === id);
          return answer !== undefined;
        }, command);
        return answer!.payload;
      };
      const messages = (client: Awaited<ReturnType<typeof raw>>) =>
        client.frames.map((f) => JSON.parse(f)).filter((f) =>
          f.header.command === "room-message-notification"
        ).map((f) => f.payload as { message: string; life: number });
      const a = await raw(room);
      await until(() => a.frames.length > 0, "the first ping");
      assert.deepEqual(await call(a, "room-subscribe-request", { topic: "news" }), {
        topics: ["news"],
      });
      const lifeA = (await call(a, "room-whoami-request", null)).life as number;

      // Idle: workerd hibernates the object; B's upgrade wakes a new life.
      await new Promise((resolve) => setTimeout(resolve, HIBERNATION_MS));
      const b = await raw(room);
      await until(() => b.frames.length > 0, "the first ping");
      await call(b, "room-subscribe-request", { topic: "news" });
      const one = await call(b, "room-publish-request", { topic: "news", message: "one" });
      assert.ok((one.life as number) > lifeA, `life ${one.life}, before ${lifeA}`);
      for (const client of [a, b]) {
        await until(() => messages(client).length === 1, "message one");
        assert.deepEqual(messages(client), [{ topic: "news", message: "one", life: one.life }]);
      }

      // Idle again: the publish request itself wakes the object; both sockets still hear it.
      await new Promise((resolve) => setTimeout(resolve, HIBERNATION_MS));
      const two = await call(b, "room-publish-request", { topic: "news", message: "two" });
      assert.ok((two.life as number) > (one.life as number), `life ${two.life}`);
      assert.notEqual(two.epoch, one.epoch); // a new life, a new epoch
      assert.equal(two.seq, 1);
      // And from the object's own fetch, in the same life: the same epoch, the next seq.
      const posted = await fetch(`http://127.0.0.1:${workerd!.port}/room/topics/publish/news`, {
        method: "POST",
        body: "three",
      });
      const three = await posted.json() as { seq: number; epoch: string; life: number };
      assert.deepEqual(three, { seq: 2, epoch: two.epoch, life: two.life });
      for (const client of [a, b]) {
        await until(() => messages(client).length === 3, "messages two and three");
        assert.deepEqual(messages(client).map((m) => m.message), ["one", "two", "three"]);
      }
      for (const client of [a, b]) {
        client.ws.close();
        await client.closed;
      }
    });
  } finally {
    await workerd?.stop();
  }
});
