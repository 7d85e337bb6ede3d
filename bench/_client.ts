/**
 * Benchmark client for Deno and Bun: `deno run -A bench/_client.ts '<spec>'`
 * or `bun bench/_client.ts '<spec>'`. Runs one scenario against one server
 * and prints its result as one JSON line.
 *
 * `spec.impl` and `spec.auth`: see `connectorFor` in _connectors.ts.
 */

import process from "node:process";
import { demoAPI } from "../lib/demo.ts";
import { decodeMessage } from "../lib/framing.ts";
import { parseJSON, stringifyJSON } from "../lib/_json.ts";
import { runScenario } from "./_scenarios.mjs";
import { connectorFor } from "./_connectors.ts";

const spec = JSON.parse(process.argv[2] ?? "{}");

/** (g): the int64-lossless decode and encode paths against the plain ones, in ns per message. */
function codecMicrobench(n: number): Record<string, number> {
  const plain =
    '{"header":{"command":"demo-ping-response","id":"12345"},"payload":{"origintimestamp":1,"timestamp":1764000000}}';
  const big =
    '{"header":{"command":"demo-ping-response","id":"12345"},"payload":{"origintimestamp":9223372036854775809,"timestamp":1764000000}}';
  const plainValue = JSON.parse(plain);
  const bigValue = parseJSON(big);
  const cases: Record<string, () => unknown> = {
    "decode JSON.parse (plain)": () => JSON.parse(plain),
    "decode parseJSON (plain)": () => parseJSON(plain),
    "decode parseJSON (int64)": () => parseJSON(big),
    "decode parseJSON+decodeMessage (plain)": () => decodeMessage(demoAPI, parseJSON(plain)),
    "encode JSON.stringify (plain)": () => JSON.stringify(plainValue),
    "encode stringifyJSON (plain)": () => stringifyJSON(plainValue),
    "encode stringifyJSON (int64)": () => stringifyJSON(bigValue),
  };
  const out: Record<string, number> = {};
  let sink = 0;
  for (const [name, fn] of Object.entries(cases)) {
    for (let i = 0; i < n / 10; i++) sink += fn() === undefined ? 1 : 0; // warm up
    const t0 = performance.now();
    for (let i = 0; i < n; i++) sink += fn() === undefined ? 1 : 0;
    out[name] = ((performance.now() - t0) * 1e6) / n;
  }
  if (sink < 0) console.log(sink);
  return out;
}

let result: unknown;
if (spec.scenario === "codec") {
  const ns = codecMicrobench(spec.n);
  result = {
    ns,
    value: ns["decode parseJSON (int64)"]! / ns["decode parseJSON (plain)"]!,
    unit: "x",
  };
} else {
  result = await runScenario(spec, await connectorFor(spec));
}
process.stdout.write(JSON.stringify(result) + "\n");
process.exit(0);
