/**
 * The well-behaved client of the floods scenario, in its own process so that
 * its latency is the server's and not the flooding process's event loop.
 * Connects with the ed25519 authenticator, then pings every 5 ms and prints
 * one line per call, `<unix ms> <latency ms> ok|fail`, until its stdin
 * closes.
 *
 * Usage: `deno run -A stress/probe.ts <url> <client secret hex> <server public key hex>`
 *
 * @module
 */

import { Conn } from "../mod.ts";
import { ed25519Client } from "../lib/ed25519_authenticator.ts";
import { sleep, stressAPI } from "./_util.ts";

const [url, secretKey, serverPublicKey] = Deno.args;
if (url === undefined || secretKey === undefined || serverPublicKey === undefined) {
  console.error("usage: probe.ts <url> <client secret hex> <server public key hex>");
  Deno.exit(2);
}
const conn = new Conn(url, {
  api: stressAPI,
  authenticator: ed25519Client({ secretKey, serverPublicKey }),
  callTimeoutMs: 10_000,
});
await conn.connect();
console.log("ready");

let running = true;
const stdinClosed = (async () => {
  for await (const _ of Deno.stdin.readable) {
    // Nothing to read; wait for EOF.
  }
  running = false;
})();

while (running) {
  const start = performance.now();
  let ok = true;
  try {
    await conn.call("demo-ping-request", { timestamp: 1 });
  } catch {
    ok = false;
  }
  console.log(`${Date.now()} ${(performance.now() - start).toFixed(2)} ${ok ? "ok" : "fail"}`);
  await sleep(5);
}
await stdinClosed;
await conn.close();
