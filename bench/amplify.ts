/**
 * How much server CPU one more microsecond of work per message costs on a
 * large echo: the JSON floor's server, with a busy-wait of `--spins` µs
 * before each reply (no memory touched), serves the floor's client; server
 * and client each pinned to one core (`taskset`), rounds interleaved,
 * medians. Over a real socket the server's CPU per echo is mostly the
 * kernel's (copying into and out of socket buffers), and that part grows
 * when each reply is later: see docs/benchmarks.md.
 *
 * Run: `deno run -A bench/amplify.ts [--runtime=bun|deno] [--spins=0,50,200]
 * [--rounds=6] [--size=1048576] [--n=256] [--inflight=4] [--warmup=4]`.
 */

import { canPin, flag, measureOnce } from "./_harness.ts";
import { median } from "./_median.ts";

const RUNTIME = flag("runtime") ?? "bun";
const SPINS = (flag("spins") ?? "0,50,200").split(",").map(Number);
const ROUNDS = Number(flag("rounds") ?? 6);
const SIZE = Number(flag("size") ?? 1_048_576);
const N = Number(flag("n") ?? 256);
const INFLIGHT = Number(flag("inflight") ?? 4);
const WARMUP = Number(flag("warmup") ?? 4);
const ROOT = new URL("..", import.meta.url).pathname;
const pinned = canPin();

async function once(spinUs: number): Promise<{ serverUs: number; mbs: number }> {
  const result = await measureOnce({
    runtime: RUNTIME,
    root: ROOT,
    mode: "json",
    serverEnv: { FLOOR_SPIN_US: String(spinUs) },
    pin: pinned,
    spec: { scenario: "echo", n: N, inflight: INFLIGHT, size: SIZE, warmup: WARMUP, impl: "json" },
  });
  return { serverUs: (result.serverCpuMs ?? NaN) * 1000 / result.n, mbs: result.value };
}

const results = new Map<number, { serverUs: number; mbs: number }[]>();
for (let r = 0; r < ROUNDS; r++) {
  for (const spinUs of SPINS) {
    const list = results.get(spinUs) ?? [];
    list.push(await once(spinUs));
    results.set(spinUs, list);
  }
}
console.log(
  `${RUNTIME}, ${SIZE} B echo, ${INFLIGHT} in flight, ${N} echoes after ${WARMUP}, ${ROUNDS} rounds, ` +
    (pinned ? "server on core 0, client on core 1" : "not pinned (no taskset)"),
);
console.log(
  "| busy-wait per message | server CPU per echo (median) | above none | × the busy-wait | MB/s |",
);
console.log("|--:|--:|--:|--:|--:|");
const base = median(results.get(SPINS[0]!)!.map((x) => x.serverUs));
for (const spinUs of SPINS) {
  const list = results.get(spinUs)!;
  const cpu = median(list.map((x) => x.serverUs));
  const extra = cpu - base;
  console.log(
    `| ${spinUs} µs | ${cpu.toFixed(0)} µs | ${
      spinUs === SPINS[0] ? "–" : `${extra.toFixed(0)} µs`
    } | ${spinUs === 0 || spinUs === SPINS[0] ? "–" : (extra / spinUs).toFixed(1)} | ${
      median(list.map((x) => x.mbs)).toFixed(0)
    } |`,
  );
}
