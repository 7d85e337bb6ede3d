/**
 * `deno run -A bench/transport.ts`: on Bun, how much of rpc-websockets' lead
 * in (a) is its transport and how much its wire format. The JSON floor runs
 * on wsrpc's transport (`Bun.serve`, the standard `WebSocket`), with its
 * client, its server or both on `ws` (node:http; under Bun, Bun's built-in
 * port of `ws`), beside rpc-websockets (on `ws` both ways) and wsrpc.
 * Interleaved rounds; medians of calls per second, of the ratio to the floor
 * on wsrpc's transport, and of CPU per call.
 *
 * Flags: `--runs=N` (rounds, default 5), `--n=N` (pings, default 60,000,
 * after a tenth as many), `--runtime=bun|deno`.
 *
 * @module
 */

import { benchScript, childEnv, flag, kill, runBenchClient, startBenchServer } from "./_harness.ts";
import { median } from "./_median.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const RUNS = Number(flag("runs") ?? 5);
const N = Number(flag("n") ?? 60_000);
const RUNTIME = flag("runtime") ?? "bun";
const STANDARD = [`_server_${RUNTIME}.ts`, `_client.ts`] as const;
const NODE_API = ["_server_node.mjs", "_client_node.mjs"] as const;

/** Name, server script and mode, client script and impl. */
const SYSTEMS: [string, string, string, string, string][] = [
  ["JSON floor (wsrpc's transport)", STANDARD[0], "json", STANDARD[1], "json"],
  ["JSON floor, client on ws", STANDARD[0], "json", NODE_API[1], "json"],
  ["JSON floor, server on ws", NODE_API[0], "json", STANDARD[1], "json"],
  ["JSON floor, both on ws", NODE_API[0], "json", NODE_API[1], "json"],
  ["rpc-websockets (ws both ways)", NODE_API[0], "rpc-websockets", NODE_API[1], "rpc-websockets"],
  ["wsrpc", STANDARD[0], "wsrpc", STANDARD[1], "wsrpc"],
];

interface Sample {
  rate: number;
  client: number;
  server: number;
}

const env = childEnv(ROOT);
const cwd = `${ROOT}bench`;
const samples = new Map<string, Sample[]>();
for (let round = 1; round <= RUNS; round++) {
  for (const [name, serverFile, mode, clientFile, impl] of SYSTEMS) {
    const [cmd, args] = benchScript(RUNTIME, ROOT, serverFile, mode);
    const server = await startBenchServer(cmd, args, { env, cwd, what: name });
    try {
      const spec = JSON.stringify({
        scenario: "pipelined",
        impl,
        n: N,
        inflight: 256,
        warmup: Math.round(N / 12),
        url: `ws://127.0.0.1:${server.port}/`,
        httpBase: `http://127.0.0.1:${server.port}`,
      });
      const [clientCmd, clientArgs] = benchScript(RUNTIME, ROOT, clientFile, spec);
      const result = await runBenchClient(clientCmd, clientArgs, { env, cwd });
      const sample = {
        rate: result.value,
        client: result.clientCpuMs * 1000 / result.n,
        server: (result.serverCpuMs ?? NaN) * 1000 / result.n,
      };
      samples.set(name, [...samples.get(name) ?? [], sample]);
      console.log(`round ${round} ${name.padEnd(32)} ${Math.round(sample.rate)} calls/s`);
    } finally {
      await kill(server.process);
    }
  }
}

const med = (name: string, field: keyof Sample) => median(samples.get(name)!.map((s) => s[field]));
const floor = med(SYSTEMS[0]![0], "rate");
console.log(`\n${RUNTIME}, pipelined pings (256 in flight), medians of ${RUNS} rounds`);
console.log("| system | calls/s | / floor | CPU µs per call, client / server |");
console.log("|---|--:|--:|--:|");
for (const [name] of SYSTEMS) {
  console.log(
    `| ${name} | ${Math.round(med(name, "rate"))} | ${(med(name, "rate") / floor).toFixed(2)} | ${
      med(name, "client").toFixed(1)
    } / ${med(name, "server").toFixed(1)} |`,
  );
}
