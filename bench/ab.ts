/**
 * `deno run -A bench/ab.ts --a=DIR --b=DIR`: an A/B of two checkouts of this
 * repository (e.g. a worktree before and after a change in lib/), measured in
 * one run: for each scenario and runtime, A and B alternate (ABBA...), each
 * with its own server and client processes, so both see the same machine
 * state. Prints every run and the median of the per-pair ratios B/A (for
 * latency, lower is better: the ratio is A/B so that above 1 means B wins),
 * and the same for CPU time per call (client + server, A/B: above 1 means B
 * costs less), which a busy machine disturbs less than throughput.
 *
 * Flags: `--runs=N` (pairs, default 5),
 * `--only=pipelined,sequential,echo64k,echo1m,connect,connectEd25519`,
 * `--runtimes=deno,bun`, `--impl=wsrpc` (or `json`, a sanity check: B/A ≈ 1),
 * `--scale=F` (multiplies the counts, default 0.5).
 *
 * @module
 */

import { flag, measureOnce } from "./_harness.ts";
import { median } from "./_median.ts";

const A = flag("a")?.replace(/\/?$/, "/");
const B = flag("b")?.replace(/\/?$/, "/");
if (A === undefined || B === undefined) throw new Error("usage: --a=DIR --b=DIR");
const RUNS = Number(flag("runs") ?? 5);
const SCALE = Number(flag("scale") ?? 0.5);
const IMPL = flag("impl") ?? "wsrpc";
const RUNTIMES = (flag("runtimes") ?? "deno,bun").split(",");

const n = (x: number) => Math.max(1, Math.round(x * SCALE));
const SCENARIOS: Record<
  string,
  { spec: Record<string, unknown>; higher: boolean; server?: string }
> = {
  pipelined: {
    spec: { scenario: "pipelined", n: n(100_000), inflight: 256, warmup: n(5_000) },
    higher: true,
  },
  sequential: { spec: { scenario: "sequential", n: n(10_000), warmup: n(1_000) }, higher: false },
  echo64k: {
    spec: { scenario: "echo", n: n(2_000), inflight: 16, size: 65_536, warmup: n(100) },
    higher: true,
  },
  echo1m: {
    spec: { scenario: "echo", n: n(64), inflight: 4, size: 1_048_576, warmup: 4 },
    higher: true,
  },
  connect: {
    spec: { scenario: "connect", n: n(2_000), concurrency: 8, warmup: n(50) },
    higher: true,
  },
  connectEd25519: {
    spec: { scenario: "connect", n: n(1_000), concurrency: 8, warmup: n(50), auth: "webcrypto" },
    higher: true,
    server: "wsrpc-auth-webcrypto",
  },
};
const ONLY = (flag("only") ?? Object.keys(SCENARIOS).join(",")).split(",");

async function once(
  dir: string,
  runtime: string,
  spec: Record<string, unknown>,
  mode = IMPL,
) {
  const result = await measureOnce({ runtime, root: dir, mode, spec: { ...spec, impl: IMPL } });
  return {
    value: result.value,
    cpuUs: (result.clientCpuMs + (result.serverCpuMs ?? NaN)) * 1000 / result.n,
  };
}

console.log(`A ${A}\nB ${B}\n${RUNS} pairs, counts × ${SCALE}, impl ${IMPL}`);
for (const runtime of RUNTIMES) {
  for (const key of ONLY) {
    const { spec, higher, server } = SCENARIOS[key]!;
    const ratios: number[] = [], cpuRatios: number[] = [];
    const as: number[] = [], bs: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const order = r % 2 === 0 ? [A, B] : [B, A];
      const got: Record<string, { value: number; cpuUs: number }> = {};
      for (const dir of order) got[dir] = await once(dir, runtime, spec, server);
      const a = got[A]!, b = got[B]!;
      as.push(a.value);
      bs.push(b.value);
      ratios.push(higher ? b.value / a.value : a.value / b.value);
      cpuRatios.push(a.cpuUs / b.cpuUs);
    }
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(x < 100 ? 1 : 0)).join(" ");
    console.log(
      `${runtime} ${key.padEnd(10)} A [${fmt(as)}]  B [${fmt(bs)}]  ` +
        `B vs A ${median(ratios).toFixed(3)} (min ${Math.min(...ratios).toFixed(3)}, max ${
          Math.max(...ratios).toFixed(3)
        }); CPU per call A/B ${median(cpuRatios).toFixed(3)}`,
    );
  }
}
