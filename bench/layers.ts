/**
 * Which layer of wsrpc an extra cost over the JSON floor comes from, for one
 * side at a time: the JSON floor, the same floor over wsrpc's frame layer
 * (read limit, nesting check, lossless-int64 decode, bounded writes:
 * bench/_frame_floor.ts), and wsrpc itself, each against the floor on the
 * other side. Rounds interleaved; medians of throughput and of the measured
 * side's CPU per echo, in total and on its main thread (bench/_threads.mjs),
 * and the per-round ratio of throughput to the floor's.
 *
 * Run: `deno run -A bench/layers.ts [--runtime=bun|deno] [--side=client|server]
 * [--size=65536] [--n=2000] [--inflight=16] [--warmup=100] [--rounds=7]`.
 */

import { type BenchResult, flag, measureOnce } from "./_harness.ts";
import { median } from "./_median.ts";

const RUNTIME = flag("runtime") ?? "bun";
const SIDE = flag("side") ?? "client";
const SIZE = Number(flag("size") ?? 65_536);
const N = Number(flag("n") ?? 2_000);
const INFLIGHT = Number(flag("inflight") ?? 16);
const WARMUP = Number(flag("warmup") ?? 100);
const ROUNDS = Number(flag("rounds") ?? 7);
const ROOT = new URL("..", import.meta.url).pathname;
const LAYERS = [
  { name: "JSON floor", impl: "json" },
  { name: "JSON floor over the frame layer", impl: "frames" },
  { name: "wsrpc", impl: "wsrpc" },
];

/** The layer `impl` on the measured side, the JSON floor on the other. */
async function once(impl: string): Promise<BenchResult> {
  return await measureOnce({
    runtime: RUNTIME,
    root: ROOT,
    mode: SIDE === "server" ? impl : "json",
    spec: {
      scenario: "echo",
      impl: SIDE === "client" ? impl : "json",
      n: N,
      inflight: INFLIGHT,
      size: SIZE,
      warmup: WARMUP,
    },
  });
}

const results = new Map<string, BenchResult[]>(LAYERS.map((l) => [l.impl, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const layer of LAYERS) results.get(layer.impl)!.push(await once(layer.impl));
}

const perEcho = (ms: number | undefined, r: BenchResult) => (ms ?? NaN) * 1000 / r.n;
const cpu = (r: BenchResult) => perEcho(SIDE === "client" ? r.clientCpuMs : r.serverCpuMs, r);
const main = (r: BenchResult) =>
  perEcho((SIDE === "client" ? r.clientThreadsMs : r.serverThreadsMs)?.main, r);
const floor = results.get("json")!;
console.log(
  `${RUNTIME}, ${SIZE} B echo, ${INFLIGHT} in flight, ${N} echoes after ${WARMUP}, ${ROUNDS} rounds; ` +
    `the ${SIDE} varies, the other side is the JSON floor`,
);
console.log(
  `| ${SIDE} | MB/s | ÷ floor (per round) | ${SIDE} CPU µs per echo | of it main thread |`,
);
console.log("|---|--:|--:|--:|--:|");
for (const layer of LAYERS) {
  const list = results.get(layer.impl)!;
  const ratio = median(list.map((r, i) => r.value / floor[i]!.value));
  console.log(
    `| ${layer.name} | ${median(list.map((r) => r.value)).toFixed(0)} | ${ratio.toFixed(2)} | ${
      median(list.map(cpu)).toFixed(0)
    } | ${median(list.map(main)).toFixed(0)} |`,
  );
}
