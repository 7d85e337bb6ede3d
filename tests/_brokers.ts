/**
 * The brokers and clients the bus tests need, installed when missing as
 * tests/browser_test.ts installs Chromium: `redis-server` and `nats-server`
 * from Debian (apt-get, as root), the dev-only clients of examples/cluster/
 * (`npm ci --prefix examples/cluster`).
 */

import { exists, NATS_SERVER, REDIS_SERVER } from "../examples/cluster/brokers.ts";
import type { NatsBusOptions } from "../lib/nats.ts";
import type { RedisBusOptions } from "../lib/redis.ts";
import type { Bus } from "../lib/topics.ts";
import { run } from "./interop/_process.ts";

export { startNats, startRedis } from "../examples/cluster/brokers.ts";

const ROOT = new URL("../", import.meta.url).pathname;

let installing: Promise<void> | undefined;

/** redis-server, nats-server and the examples/cluster clients, installed once. */
export function ensureBrokers(): Promise<void> {
  return installing ??= install();
}

async function install(): Promise<void> {
  const missing = [];
  if (!await exists(REDIS_SERVER)) missing.push("redis-server");
  if (!await exists(NATS_SERVER)) missing.push("nats-server");
  if (missing.length > 0) {
    if (Deno.uid() !== 0) {
      throw new Error(
        `${missing.join(", ")} missing: run \`apt-get install ${missing.join(" ")}\``,
      );
    }
    const apt = { DEBIAN_FRONTEND: "noninteractive" };
    await run("apt-get", ["update", "-qq"], apt);
    await run("apt-get", ["install", "-y", "-qq", ...missing], apt);
  }
  if (!await exists(`${ROOT}examples/cluster/node_modules/redis/package.json`)) {
    await run("npm", ["ci", "--prefix", `${ROOT}examples/cluster`, "--no-audit", "--no-fund"]);
  }
}

/** A bus and what closes its clients (examples/cluster/clients.ts). */
export interface ClientBus {
  bus: Bus;
  close(): Promise<void>;
}

type Extra<O> = Omit<O, "client" | "reader" | "js" | "jsm" | "connection">;

/** What examples/cluster/clients.ts exports. */
export interface Clients {
  nodeRedisBus(url: string, options?: Extra<RedisBusOptions>): Promise<ClientBus>;
  bunRedisBus(url: string, options?: Extra<RedisBusOptions>): Promise<ClientBus>;
  natsBus(url: string, options?: Extra<NatsBusOptions>): Promise<ClientBus>;
}

/**
 * The clients module, loaded at run time: a specifier the type checker does
 * not follow, so that the npm clients' Node typings stay out of the tests'
 * program (they change the global `EventTarget`). The examples are checked
 * on their own (`deno check examples/cluster/`).
 */
export async function loadClients(): Promise<Clients> {
  await ensureBrokers();
  const specifier = new URL("../examples/cluster/clients.ts", import.meta.url).href;
  return await import(specifier) as Clients;
}
