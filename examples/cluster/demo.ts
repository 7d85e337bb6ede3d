/**
 * `deno task demo:cluster`: two server instances (separate processes) on one
 * bus, a client on each, one publish that both receive. Starts a throwaway
 * `redis-server` (or `nats-server -js` with `--bus nats`) when it is
 * installed, and says how to install it when it is not.
 *
 * @module
 */
import { Conn } from "../../mod.ts";
import { clusterAPI } from "./api.ts";
import {
  type Broker,
  exists,
  NATS_SERVER,
  REDIS_SERVER,
  startNats,
  startRedis,
} from "./brokers.ts";

const kind = Deno.args.includes("--bus") ? Deno.args[Deno.args.indexOf("--bus") + 1] : "redis";
if (kind !== "redis" && kind !== "nats") {
  console.error("usage: deno task demo:cluster [--bus redis|nats]");
  Deno.exit(2);
}
const binary = kind === "redis" ? REDIS_SERVER : NATS_SERVER;
if (!await exists(binary)) {
  const pkg = kind === "redis" ? "redis-server" : "nats-server";
  console.error(`${binary} is not installed. On Debian or Ubuntu: sudo apt-get install ${pkg}`);
  console.error(`(or point ${kind === "redis" ? "REDIS_SERVER" : "NATS_SERVER"} at the binary)`);
  Deno.exit(1);
}
if (!await exists(new URL("./node_modules/redis/package.json", import.meta.url).pathname)) {
  console.error("The example's clients are missing: npm ci --prefix examples/cluster");
  Deno.exit(1);
}

const broker: Broker = kind === "redis" ? await startRedis() : await startNats();
console.log(`${kind} broker on ${broker.url}`);

/** Starts one instance process and waits for its URL. */
async function instance(name: string): Promise<{ url: string; child: Deno.ChildProcess }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./instance.ts", import.meta.url).pathname],
    env: { BUS: kind!, BUS_URL: broker.url, NAME: name },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`instance ${name} exited`);
    text += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  const url = text.slice("listening ".length, text.indexOf("\n"));
  console.log(`instance ${name} listening on ${url}`);
  return { url, child };
}

const instances = [await instance("a"), await instance("b")];
const clients = instances.map(({ url }) => new Conn(url, { api: clusterAPI }));
try {
  await Promise.all(clients.map((c) => c.connect()));
  await Promise.all(clients.map((c) => c.call("cluster-watch-request", { topic: "news" })));
  console.log("both clients subscribed to topic 'news'; client 1 publishes through instance a");
  await clients[0]!.call("cluster-publish-request", { topic: "news", n: 1 });
  await Promise.all(clients.map(async (c, i) => {
    const push = await c.read({ signal: AbortSignal.timeout(10_000) });
    console.log(
      `client ${i + 1} (on instance ${i === 0 ? "a" : "b"}) got`,
      push.command,
      push.payload,
    );
  }));
} finally {
  await Promise.all(clients.map((c) => c.close()));
  for (const { child } of instances) {
    child.kill("SIGTERM");
    await child.status;
  }
  await broker.stop();
}
