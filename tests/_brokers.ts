/**
 * The brokers and clients the bus tests need, installed when missing as
 * tests/browser_test.ts installs Chromium: `redis-server` and `nats-server`
 * from Debian (apt-get, as root), the dev-only clients of examples/cluster/
 * (`npm ci --prefix examples/cluster`).
 */

import { exists, NATS_SERVER, REDIS_SERVER } from "../examples/cluster/brokers.ts";
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
