/**
 * The client under Node.js 22, bundled by `deno bundle` and run by
 * `tests/node_test.ts`: runs the interop scenario with Node's global
 * `WebSocket` against the test's Deno server, and prints what it saw as one
 * JSON line.
 *
 * Usage: `node client.mjs <url> [<auth url> <client secret hex> <server key hex>]`.
 * Only the client core is loaded up front; the package entry point
 * (`mod.ts`) and the ed25519 module load later, each reported on its own.
 */
import process from "node:process";
import { attempt, runScenario } from "../interop/_scenario.ts";

const [url, authURL, secretKey, serverPublicKey] = process.argv.slice(2);
const results: Record<string, unknown> = {
  version: process.version,
  hasWebSocket: typeof WebSocket === "function",
  hasUint8ArrayHex: typeof (Uint8Array as unknown as { fromHex?: unknown }).fromHex === "function",
  plain: await attempt(() => runScenario(url!)),
  // What users import: the whole package entry point, ed25519 included.
  rootModule: await attempt(async () => Object.keys(await import("../../mod.ts")).length),
};
if (authURL !== undefined) {
  results.authenticated = await attempt(() =>
    runScenario(authURL, { secretKey: secretKey!, serverPublicKey: serverPublicKey! })
  );
}
console.log(JSON.stringify(results, (_k, v) => typeof v === "bigint" ? `${v}n` : v));
