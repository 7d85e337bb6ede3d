/**
 * `deno task bench`: wsrpc against the raw runtime WebSocket echo, the JSON
 * floor (a minimal hand-written JSON RPC, bench/_json_floor.mjs) and peers
 * (capnweb, birpc, rpc-websockets), client and server in separate processes
 * on 127.0.0.1. Three interleaved runs (every system once per scenario per
 * run), min/median/max, ratios to the raw echo and to the JSON floor of the
 * same run.
 * Writes `bench/RESULTS.md` and `bench/results.json`; progress on stderr.
 *
 * Flags: `--quick` (a tenth of the counts, one run, for development),
 * `--runs=N`, `--only=a,b,...` (scenario keys: pipelined, pipelinedSteady,
 * sequential, echo64k, echo64kSteady, echo1m, echo1mSteady, connect, idle,
 * int64, codec, nagle), `--systems=deno.raw,deno.wsrpc,...`
 * (system ids, as in results.json), `--out=DIR` (where the two files go).
 *
 * @module
 */

import {
  childEnv,
  flag,
  kill,
  type LineProcess,
  runBenchClient,
  startBenchServer,
  stepLogger,
} from "./_harness.ts";
import { median } from "./_median.ts";
import type { BenchAuth } from "./_auth.ts";

const BENCH = new URL(".", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;
const args = new Set(Deno.args);
const QUICK = args.has("--quick");
const RUNS = Number(flag("runs") ?? (QUICK ? 1 : 3));
const ONLY = flag("only")?.split(",");
const ONLY_SYSTEMS = flag("systems")?.split(",");
// Where RESULTS.md and results.json go (default: bench/).
const OUT = (flag("out") ?? BENCH).replace(/\/?$/, "/");
const scale = (n: number, min = 1) => QUICK ? Math.max(min, Math.round(n / 10)) : n;
const started = performance.now();

const log = stepLogger(started);

// ---------------------------------------------------------------- tool chain

const env = childEnv(ROOT);

async function which(name: string): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("sh", {
      args: ["-c", `command -v ${name}`],
      env,
      stdout: "piped",
      stderr: "null",
    }).output();
    const path = new TextDecoder().decode(out.stdout).trim();
    return out.success && path ? path : undefined;
  } catch {
    return undefined;
  }
}

async function version(
  cmd: string | undefined,
  flag = "--version",
): Promise<string> {
  if (cmd === undefined) return "missing";
  const out = await new Deno.Command(cmd, {
    args: [flag],
    env,
    stdout: "piped",
    stderr: "null",
  })
    .output();
  return new TextDecoder().decode(out.stdout).split("\n")[0]!.trim();
}

const DENO = Deno.execPath();
const BUN = await which("bun");
const NODE = await which("node");
const NPM = await which("npm");

// A fresh clone: the library's own npm dependency (@noble/ed25519) comes from
// the root `npm ci`, as in .ci/run.
try {
  await Deno.stat(`${ROOT}node_modules/@noble/ed25519/package.json`);
} catch {
  if (NPM !== undefined) {
    log("installing the library's dependencies: npm ci");
    await new Deno.Command(NPM, {
      args: ["ci", "--no-audit", "--no-fund", "--loglevel=error"],
      cwd: ROOT,
      env,
      stdout: "null",
      stderr: "inherit",
    }).output();
  }
}

// Peers for Node and Bun live in bench/node_modules (dev-only, bench/package.json).
try {
  await Deno.stat(`${BENCH}node_modules/ws/package.json`);
} catch {
  if (NPM !== undefined) {
    log("installing bench peers: npm ci --prefix bench");
    const out = await new Deno.Command(NPM, {
      args: [
        "ci",
        "--prefix",
        BENCH,
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
      ],
      env,
      stdout: "null",
      stderr: "inherit",
    }).output();
    if (!out.success) log("npm ci failed: Node and Bun peers will be skipped");
  }
}

// ---------------------------------------------------------------- systems

type Runtime = "deno" | "bun" | "node";

interface System {
  id: string;
  label: string;
  client: Runtime;
  server: Runtime;
  mode: string;
  impl: string;
  auth?: BenchAuth;
  /** The raw echo of the same client and server runtimes: the floor. */
  floor?: string;
  /** The JSON floor of the same runtimes: what no JSON RPC can beat. */
  jsonFloor?: string;
  /**
   * Run the Node scripts (`_server_node.mjs`, `_client_node.mjs`: `ws` and
   * rpc-websockets) on this system's runtimes, for a peer compared on the
   * same runtime as wsrpc.
   */
  nodeScripts?: boolean;
  /** Count multipliers per scenario (a peer that stalls gets fewer calls). */
  scale?: Partial<Record<string, number>>;
  note?: string;
}

const SYSTEMS: System[] = [
  {
    id: "deno.raw",
    label: "raw WebSocket echo",
    client: "deno",
    server: "deno",
    mode: "raw",
    impl: "raw",
  },
  {
    id: "deno.json",
    label: "JSON floor (minimal RPC)",
    client: "deno",
    server: "deno",
    mode: "json",
    impl: "json",
    floor: "deno.raw",
  },
  {
    id: "deno.wsrpc",
    label: "wsrpc",
    client: "deno",
    server: "deno",
    mode: "wsrpc",
    impl: "wsrpc",
    floor: "deno.raw",
    jsonFloor: "deno.json",
  },
  {
    id: "deno.birpc",
    label: "birpc 4",
    client: "deno",
    server: "deno",
    mode: "birpc",
    impl: "birpc",
    floor: "deno.raw",
    jsonFloor: "deno.json",
  },
  {
    id: "deno.capnweb",
    label: "capnweb 0.12",
    client: "deno",
    server: "deno",
    mode: "capnweb",
    impl: "capnweb",
    floor: "deno.raw",
    jsonFloor: "deno.json",
    // Two frames per call meet Nagle's algorithm on Deno's client: ~44 ms stalls.
    scale: { pipelined: 0.1, sequential: 0.01, echo64k: 0.25 },
    note: "Deno's client leaves Nagle on and capnweb writes two frames per call",
  },
  {
    id: "bun.raw",
    label: "raw WebSocket echo",
    client: "bun",
    server: "bun",
    mode: "raw",
    impl: "raw",
  },
  {
    id: "bun.json",
    label: "JSON floor (minimal RPC)",
    client: "bun",
    server: "bun",
    mode: "json",
    impl: "json",
    floor: "bun.raw",
  },
  {
    id: "bun.wsrpc",
    label: "wsrpc",
    client: "bun",
    server: "bun",
    mode: "wsrpc",
    impl: "wsrpc",
    floor: "bun.raw",
    jsonFloor: "bun.json",
  },
  {
    id: "bun.capnweb",
    label: "capnweb 0.12",
    client: "bun",
    server: "bun",
    mode: "capnweb",
    impl: "capnweb",
    floor: "bun.raw",
    jsonFloor: "bun.json",
  },
  {
    id: "cross.raw",
    label: "raw WebSocket echo",
    client: "deno",
    server: "bun",
    mode: "raw",
    impl: "raw",
  },
  {
    id: "cross.wsrpc",
    label: "wsrpc",
    client: "deno",
    server: "bun",
    mode: "wsrpc",
    impl: "wsrpc",
    floor: "cross.raw",
  },
  {
    id: "node.raw",
    label: "raw WebSocket echo (ws 8)",
    client: "node",
    server: "node",
    mode: "raw",
    impl: "raw",
  },
  {
    id: "node.rpc-websockets",
    label: "rpc-websockets 10",
    client: "node",
    server: "node",
    mode: "rpc-websockets",
    impl: "rpc-websockets",
    floor: "node.raw",
  },
];

// rpc-websockets (on `ws`) runs on Deno and Bun through their Node
// compatibility, so that it is compared with wsrpc on the same runtime.
for (const rt of ["deno", "bun"] as const) {
  // Listed after the runtime's other peers.
  const last = SYSTEMS.findLastIndex((s) => s.client === rt && s.server === rt);
  SYSTEMS.splice(last + 1, 0, {
    id: `${rt}.rpc-websockets`,
    label: "rpc-websockets 10 (ws 8)",
    client: rt,
    server: rt,
    mode: "rpc-websockets",
    impl: "rpc-websockets",
    nodeScripts: true,
    floor: `${rt}.raw`,
    jsonFloor: `${rt}.json`,
  });
}

// wsrpc with an authenticator (bench/_auth.ts), against bare wsrpc: the
// ed25519 handshake on each backend; its four messages without cryptography
// (what the message pattern costs by itself); and one frame each way without
// cryptography, as few frames as any handshake can add in which each side
// answers a challenge from the other.
const AUTHENTICATED: [BenchAuth, string, string][] = [
  ["webcrypto", "ed25519-webcrypto", "wsrpc + ed25519 (webcrypto)"],
  ["noble", "ed25519-noble", "wsrpc + ed25519 (noble)"],
  ["frames", "frames", "wsrpc + the handshake's messages only (no crypto)"],
  ["frames2", "frames2", "wsrpc + one handshake frame each way (no crypto)"],
];
const AUTH_SYSTEMS: System[] = (["deno", "bun"] as const).flatMap((rt) =>
  AUTHENTICATED.map(([auth, suffix, label]) => ({
    id: `${rt}.wsrpc+${suffix}`,
    label,
    client: rt,
    server: rt,
    mode: `wsrpc-auth-${auth}`,
    impl: "wsrpc",
    auth,
    floor: `${rt}.wsrpc`,
  }))
);

const byId = new Map([...SYSTEMS, ...AUTH_SYSTEMS].map((s) => [s.id, s]));
const available = (s: System) =>
  (s.client !== "bun" && s.server !== "bun" || BUN !== undefined) &&
  (s.client !== "node" && s.server !== "node" || NODE !== undefined);

// ---------------------------------------------------------------- scenarios

interface Scenario {
  key: string;
  title: string;
  systems: string[];
  spec: Record<string, unknown>;
  /** Higher is better (throughput), or lower (latency, memory). */
  higher: boolean;
  /** Result field for the table (default `value`). */
  unit: string;
  /** Path on the server (default `/`). */
  path?: string;
  /** Uses its own fresh servers (memory). */
  fresh?: boolean;
}

const RPC = SYSTEMS.map((s) => s.id);
const SCENARIOS: Scenario[] = [
  {
    key: "pipelined",
    title: "(a) pipelined ping, 256 in flight, one connection",
    systems: RPC,
    spec: {
      scenario: "pipelined",
      n: scale(100_000),
      inflight: 256,
      warmup: scale(5_000),
    },
    higher: true,
    unit: "calls/s",
  },
  {
    key: "pipelinedSteady",
    title: "(a′) pipelined ping, 256 in flight, after 60,000 warm-up calls (compiled code settled)",
    systems: ["deno.raw", "deno.json", "deno.wsrpc", "bun.raw", "bun.json", "bun.wsrpc"],
    spec: {
      scenario: "pipelined",
      n: scale(200_000),
      inflight: 256,
      warmup: scale(60_000),
    },
    higher: true,
    unit: "calls/s",
  },
  {
    key: "sequential",
    title: "(b) sequential ping, one at a time: p50 (p99)",
    systems: RPC,
    spec: { scenario: "sequential", n: scale(10_000), warmup: scale(1_000) },
    higher: false,
    unit: "us",
  },
  {
    key: "echo64k",
    title: "(c) echo of a 64 KiB string, 16 in flight",
    systems: RPC,
    spec: {
      scenario: "echo",
      n: scale(2_000),
      inflight: 16,
      size: 65_536,
      warmup: scale(100),
    },
    higher: true,
    unit: "MB/s",
  },
  {
    key: "echo64kSteady",
    title:
      "(c′) echo of a 64 KiB string, 16 in flight, after 30,000 warm-up echoes (compiled code settled)",
    systems: ["deno.raw", "deno.json", "deno.wsrpc", "bun.raw", "bun.json", "bun.wsrpc"],
    spec: {
      scenario: "echo",
      n: scale(4_000),
      inflight: 16,
      size: 65_536,
      warmup: scale(30_000),
    },
    higher: true,
    unit: "MB/s",
  },
  {
    key: "echo1m",
    title: "(d) echo of a 1 MiB string, 4 in flight",
    systems: RPC,
    spec: {
      scenario: "echo",
      n: scale(64, 8),
      inflight: 4,
      size: 1_048_576,
      warmup: 4,
    },
    higher: true,
    unit: "MB/s",
  },
  {
    key: "echo1mSteady",
    title:
      "(d′) echo of a 1 MiB string, 4 in flight, after 500 warm-up echoes (compiled code settled)",
    systems: ["deno.raw", "deno.json", "deno.wsrpc", "bun.raw", "bun.json", "bun.wsrpc"],
    spec: {
      scenario: "echo",
      n: scale(256, 8),
      inflight: 4,
      size: 1_048_576,
      warmup: scale(500, 4),
    },
    higher: true,
    unit: "MB/s",
  },
  {
    key: "connect",
    title: "(e) connections per second (open, handshake, first message, close; 8 at a time)",
    systems: [
      "deno.raw",
      "deno.json",
      "deno.wsrpc",
      "deno.wsrpc+ed25519-webcrypto",
      "deno.wsrpc+ed25519-noble",
      "deno.wsrpc+frames",
      "deno.wsrpc+frames2",
      "bun.raw",
      "bun.json",
      "bun.wsrpc",
      "bun.wsrpc+ed25519-webcrypto",
      "bun.wsrpc+ed25519-noble",
      "bun.wsrpc+frames",
      "bun.wsrpc+frames2",
    ],
    spec: {
      scenario: "connect",
      n: scale(1_000, 50),
      concurrency: 8,
      warmup: 20,
    },
    higher: true,
    unit: "conn/s",
    path: "/first",
  },
  {
    key: "idle",
    title: "(f) server memory per idle connection (RSS after GC), 5,000 connections",
    systems: [
      "deno.raw",
      "deno.wsrpc",
      "deno.wsrpc+ed25519-webcrypto",
      "bun.raw",
      "bun.wsrpc",
      "bun.wsrpc+ed25519-webcrypto",
    ],
    spec: {
      scenario: "idle",
      n: scale(5_000, 200),
      concurrency: 32,
      warmup: 50,
    },
    higher: false,
    unit: "KiB/conn",
    path: "/first",
    fresh: true,
  },
  {
    key: "int64",
    title: "(g) pipelined ping with an int64 timestamp (2^63 + 1, decoded as bigint both ways)",
    systems: ["deno.wsrpc", "bun.wsrpc"],
    spec: {
      scenario: "pipelined",
      n: scale(100_000),
      inflight: 256,
      warmup: scale(5_000),
      int64: true,
    },
    higher: true,
    unit: "calls/s",
  },
  {
    key: "codec",
    title: "(g) decode/encode microbenchmark, one message, in process (ns per message)",
    systems: ["deno.wsrpc", "bun.wsrpc"],
    spec: { scenario: "codec", n: scale(300_000) },
    higher: false,
    unit: "x",
  },
  {
    key: "nagle",
    title: "Nagle check: raw echo, a call written as two frames (answered after both), p50",
    systems: ["deno.raw", "bun.raw", "node.raw"],
    spec: { scenario: "nagle", n: scale(20, 5), warmup: 2 },
    higher: false,
    unit: "us",
    path: "/pair",
  },
].filter((s) => ONLY === undefined || ONLY.includes(s.key))
  .map((s) => ({
    ...s,
    systems: s.systems.filter((id) => ONLY_SYSTEMS === undefined || ONLY_SYSTEMS.includes(id)),
  }));

// ---------------------------------------------------------------- processes

interface RunningServer {
  system: System;
  port: number;
  process: LineProcess;
}

function serverCommand(s: System): [string, string[]] {
  const script = `${BENCH}${
    s.nodeScripts || s.server === "node" ? "_server_node.mjs" : `_server_${s.server}.ts`
  }`;
  if (s.server === "deno") return [DENO, ["run", "-A", "--v8-flags=--expose-gc", script, s.mode]];
  if (s.server === "bun") return [BUN!, [script, s.mode]];
  return [NODE!, ["--expose-gc", script, s.mode]];
}

function clientCommand(s: System, spec: unknown): [string, string[]] {
  const json = JSON.stringify(spec);
  const script = `${BENCH}${
    s.nodeScripts || s.client === "node" ? "_client_node.mjs" : "_client.ts"
  }`;
  if (s.client === "deno") return [DENO, ["run", "-A", script, json]];
  if (s.client === "bun") return [BUN!, [script, json]];
  return [NODE!, [script, json]];
}

async function startServer(system: System): Promise<RunningServer> {
  const [cmd, argv] = serverCommand(system);
  const { process, port } = await startBenchServer(cmd, argv, {
    env,
    cwd: BENCH,
    what: `server ${system.id}`,
  });
  return { system, port, process };
}

interface ClientResult {
  value: number;
  ms?: number;
  clientCpuMs?: number;
  serverCpuMs?: number;
  p50?: number;
  p99?: number;
  [key: string]: unknown;
}

async function runClient(system: System, spec: unknown): Promise<ClientResult> {
  const [cmd, argv] = clientCommand(system, spec);
  return await runBenchClient(cmd, argv, { env, cwd: BENCH }) as ClientResult;
}

// ---------------------------------------------------------------- the runs

interface Cell {
  scenario: string;
  system: string;
  runs: (ClientResult | { error: string })[];
}

const cells = new Map<string, Cell>();
const cellOf = (scenario: string, system: string): Cell => {
  const key = `${scenario}|${system}`;
  let cell = cells.get(key);
  if (cell === undefined) cells.set(key, cell = { scenario, system, runs: [] });
  return cell;
};

const fmt = (v: number | undefined, digits = 0): string =>
  v === undefined || !Number.isFinite(v) ? "–" : v.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });

const usedIds = [...new Set(SCENARIOS.flatMap((s) => s.systems))]
  .map((id) => byId.get(id)!)
  .filter((s) => {
    if (available(s)) return true;
    log(`skipping ${s.id}: ${s.client}/${s.server} runtime not found`);
    return false;
  });

for (let run = 1; run <= RUNS; run++) {
  log(`run ${run}/${RUNS}: starting ${usedIds.length} servers`);
  const shared = new Map<string, RunningServer>();
  await Promise.all(usedIds.map(async (s) => {
    try {
      shared.set(s.id, await startServer(s));
    } catch (error) {
      log(`  ${s.id}: ${(error as Error).message}`);
    }
  }));
  // Alternate the order of systems between runs, so that no system always
  // runs first (or last) after a scenario change.
  for (const scenario of SCENARIOS) {
    const systems = scenario.systems.map((id) => byId.get(id)!).filter(
      available,
    );
    if (run % 2 === 0) systems.reverse();
    for (const system of systems) {
      const cell = cellOf(scenario.key, system.id);
      let server = shared.get(system.id);
      let fresh: RunningServer | undefined;
      try {
        if (scenario.fresh) server = fresh = await startServer(system);
        if (server === undefined) throw new Error("server did not start");
        const k = system.scale?.[scenario.key] ?? 1;
        const spec: Record<string, unknown> = {
          ...scenario.spec,
          impl: system.impl,
          url: `ws://127.0.0.1:${server.port}${
            scenario.path && system.impl === "raw" ? scenario.path : "/"
          }`,
          httpBase: `http://127.0.0.1:${server.port}`,
        };
        if (system.auth) spec.auth = system.auth;
        for (const f of ["n", "warmup"]) {
          if (typeof spec[f] === "number") {
            spec[f] = Math.max(1, Math.round((spec[f] as number) * k));
          }
        }
        const result = await runClient(system, spec);
        cell.runs.push(result);
        const extra = result.p99 !== undefined ? ` (p99 ${fmt(result.p99)})` : "";
        log(
          `  run ${run} ${scenario.key.padEnd(10)} ${system.id.padEnd(30)} ${
            fmt(result.value, result.value < 10 ? 2 : 0)
          } ${scenario.unit}${extra}`,
        );
      } catch (error) {
        cell.runs.push({ error: (error as Error).message });
        log(
          `  run ${run} ${scenario.key.padEnd(10)} ${system.id.padEnd(30)} FAILED ${
            (error as Error).message
          }`,
        );
      } finally {
        if (fresh) await kill(fresh.process);
      }
    }
  }
  await Promise.all([...shared.values()].map((server) => kill(server.process)));
}

// ---------------------------------------------------------------- summary

const stats = (xs: number[]) => ({
  min: Math.min(...xs),
  median: median(xs),
  max: Math.max(...xs),
  n: xs.length,
});

function okRuns(cell: Cell | undefined): ClientResult[] {
  return (cell?.runs ?? []).filter((r): r is ClientResult => !("error" in r));
}

/** Per-run ratio of a cell to another (same run index), then min/median/max. */
function ratio(
  scenario: string,
  system: string,
  floor: string,
  field = "value",
) {
  const a = cells.get(`${scenario}|${system}`)?.runs ?? [];
  const b = cells.get(`${scenario}|${floor}`)?.runs ?? [];
  const rs: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!, y = b[i]!;
    if ("error" in x || "error" in y) continue;
    rs.push((x[field] as number) / (y[field] as number));
  }
  return rs.length ? stats(rs) : undefined;
}

const summary = [...cells.values()].map((cell) => {
  const ok = okRuns(cell);
  const system = byId.get(cell.system)!;
  const scenario = SCENARIOS.find((s) => s.key === cell.scenario)!;
  const pct = (f: "clientCpuMs" | "serverCpuMs") =>
    ok.every((r) => typeof r[f] === "number" && typeof r.ms === "number")
      ? median(ok.map((r) => (r[f] as number) / (r.ms as number) * 100))
      : undefined;
  // CPU per operation (call or connection), in microseconds.
  const perOp = (f: "clientCpuMs" | "serverCpuMs") =>
    ok.length > 0 &&
      ok.every((r) => typeof r[f] === "number" && typeof r.n === "number")
      ? median(ok.map((r) => (r[f] as number) * 1000 / (r.n as number)))
      : undefined;
  // CPU per operation by thread group (Linux), medians of the runs.
  const perOpByThread = (f: "clientThreadsMs" | "serverThreadsMs") => {
    const runs = ok.filter((r) => r[f] !== undefined && typeof r.n === "number");
    if (runs.length === 0) return undefined;
    const groups = new Set(runs.flatMap((r) => Object.keys(r[f] as Record<string, number>)));
    return Object.fromEntries(
      [...groups].map((g) => [
        g,
        median(
          runs.map((r) => ((r[f] as Record<string, number>)[g] ?? 0) * 1000 / (r.n as number)),
        ),
      ]),
    );
  };
  return {
    scenario: cell.scenario,
    system: cell.system,
    label: system.label,
    client: system.client,
    server: system.server,
    unit: scenario.unit,
    value: ok.length ? stats(ok.map((r) => r.value)) : undefined,
    p99: ok.some((r) => r.p99 !== undefined) ? stats(ok.map((r) => r.p99 as number)) : undefined,
    heapPerConnKiB: ok.some((r) => r.heapPerConnKiB !== undefined)
      ? stats(ok.map((r) => r.heapPerConnKiB as number))
      : undefined,
    ns: ok.length && ok[0]!.ns ? ok.map((r) => r.ns) : undefined,
    clientCpuPct: pct("clientCpuMs"),
    serverCpuPct: pct("serverCpuMs"),
    clientCpuUsPerOp: perOp("clientCpuMs"),
    serverCpuUsPerOp: perOp("serverCpuMs"),
    clientThreadsUsPerOp: perOpByThread("clientThreadsMs"),
    serverThreadsUsPerOp: perOpByThread("serverThreadsMs"),
    ratioToFloor: system.floor ? ratio(cell.scenario, cell.system, system.floor) : undefined,
    floor: system.floor,
    ratioToJson: system.jsonFloor ? ratio(cell.scenario, cell.system, system.jsonFloor) : undefined,
    jsonFloor: system.jsonFloor,
    errors: cell.runs.filter((r) => "error" in r).map((r) => (r as { error: string }).error),
    runs: cell.runs,
  };
});
const find = (scenario: string, system: string) =>
  summary.find((r) => r.scenario === scenario && r.system === system);

// ---------------------------------------------------------------- targets

interface Target {
  name: string;
  goal: string;
  measured: string;
  met: boolean | undefined;
}

const targets: Target[] = [];
const med = (x: { median: number } | undefined) => x?.median;
function target(
  name: string,
  goal: string,
  value: number | undefined,
  ok: (v: number) => boolean,
  digits = 2,
) {
  targets.push({
    name,
    goal,
    measured: fmt(value, digits),
    met: value === undefined || !Number.isFinite(value) ? undefined : ok(value),
  });
}
// Issue 15: every wsrpc figure against the JSON floor of the same runtimes and run.
const JSON_TARGETS = [
  ["pipelined", "(a) pipelined", ">= 0.95", (v: number) => v >= 0.95],
  ["pipelinedSteady", "(a′) pipelined, steady state", ">= 0.95", (v: number) => v >= 0.95],
  ["sequential", "(b) sequential p50", "<= 1.05", (v: number) => v <= 1.05],
  ["echo64k", "(c) 64 KiB echo", ">= 0.95", (v: number) => v >= 0.95],
  ["echo64kSteady", "(c′) 64 KiB echo, steady state", ">= 0.95", (v: number) => v >= 0.95],
  ["echo1m", "(d) 1 MiB echo", ">= 0.95", (v: number) => v >= 0.95],
  ["echo1mSteady", "(d′) 1 MiB echo, steady state", ">= 0.95", (v: number) => v >= 0.95],
] as const;
for (const rt of ["deno", "bun"]) {
  for (const [key, name, goal, ok] of JSON_TARGETS) {
    target(
      `${name}: wsrpc ${rt} / JSON floor`,
      goal,
      med(find(key, `${rt}.wsrpc`)?.ratioToJson),
      ok,
    );
  }
}
for (const rt of ["deno", "bun"]) {
  for (const backend of ["webcrypto", "noble"]) {
    target(
      `(e) ${rt} ed25519 (${backend}) conn/s / bare wsrpc`,
      ">= 0.60",
      med(find("connect", `${rt}.wsrpc+ed25519-${backend}`)?.ratioToFloor),
      (v) => v >= 0.6,
    );
  }
  // Not a target: what the handshake's messages cost without its crypto.
  for (
    const [id, what] of [
      ["frames", "the handshake's messages only (no crypto)"],
      ["frames2", "one frame each way, the fewest a mutual handshake adds (no crypto)"],
    ]
  ) {
    const ratio = med(find("connect", `${rt}.wsrpc+${id}`)?.ratioToFloor);
    if (ratio === undefined) continue;
    targets.push({
      name: `(e) ${rt} ${what} conn/s / bare wsrpc`,
      goal: "(bound)",
      measured: fmt(ratio, 2),
      met: undefined,
    });
  }
  const auth = find("idle", `${rt}.wsrpc+ed25519-webcrypto`)?.value?.median;
  const bare = find("idle", `${rt}.raw`)?.value?.median;
  target(
    `(f) ${rt} authenticated memory / bare WebSocket`,
    "<= 1.50",
    auth !== undefined && bare ? auth / bare : undefined,
    (v) => v <= 1.5,
  );
  const bareRpc = find("idle", `${rt}.wsrpc`)?.value?.median;
  target(
    `(f) ${rt} authenticated memory / bare wsrpc (the handshake's own cost)`,
    "<= 1.50",
    auth !== undefined && bareRpc ? auth / bareRpc : undefined,
    (v) => v <= 1.5,
  );
}
// Ahead of every peer on the same runtimes (medians of the same runs). The
// Node run of rpc-websockets is listed in the tables, not compared: its
// runtime is not wsrpc's (Deno and Bun runs of it are).
const FIGURES = [
  ["pipelined", true],
  ["sequential", false],
  ["echo64k", true],
  ["echo1m", true],
] as const;
for (const [key, higher] of FIGURES) {
  const ours = summary.filter((r) => r.scenario === key && r.system.endsWith(".wsrpc") && r.value);
  const peers = summary.filter((r) =>
    r.scenario === key && /birpc|capnweb|rpc-websockets/.test(r.system) &&
    r.value
  );
  for (const r of ours) {
    for (const p of peers) {
      if (p.client !== r.client || p.server !== r.server) continue;
      const a = r.value?.median;
      const b = p.value?.median;
      if (a === undefined || b === undefined) continue;
      targets.push({
        name: `${key}: ${r.system} vs ${p.system}`,
        goal: "ahead",
        measured: `${fmt(a, 0)} vs ${fmt(b, 0)}`,
        met: higher ? a > b : a < b,
      });
    }
  }
}

// ---------------------------------------------------------------- reports

const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
const machine = {
  cpus: navigator.hardwareConcurrency,
  model: cpuinfo.match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown",
  os: `${Deno.build.os} ${Deno.osRelease()}`,
  deno: Deno.version.deno,
  bun: await version(BUN),
  node: await version(NODE),
  loadavg: Deno.loadavg(),
};
const date = new Date().toISOString();
const elapsedS = (performance.now() - started) / 1000;

await Deno.mkdir(OUT, { recursive: true });
await Deno.writeTextFile(
  `${OUT}results.json`,
  JSON.stringify(
    {
      date,
      machine,
      quick: QUICK,
      runs: RUNS,
      elapsedS,
      scenarios: SCENARIOS,
      results: summary,
      targets,
    },
    null,
    2,
  ) + "\n",
);

const lines: string[] = [];
lines.push("# wsrpc benchmark results", "");
lines.push(
  `${
    date.slice(0, 10)
  }, ${machine.cpus} × ${machine.model}, ${machine.os}; Deno ${machine.deno}, Bun ${machine.bun}, Node ${machine.node}.`,
  `${RUNS} interleaved run${RUNS > 1 ? "s" : ""}${
    QUICK ? " (--quick: a tenth of the counts)" : ""
  }, ${elapsedS.toFixed(0)} s. ` +
    "Cells: median [min–max]; ratios: per-run ratio to the raw echo, and to the JSON floor (a minimal hand-written JSON RPC), of the same runtimes in the same run (median); " +
    "CPU: share of one core over the timed part, and CPU time per call (or connection), medians, client / server.",
  "",
);
const runtimeOf = (r: (typeof summary)[number]) =>
  r.client === r.server ? r.client : `${r.client} → ${r.server}`;
for (const scenario of SCENARIOS) {
  const rows = summary.filter((r) => r.scenario === scenario.key);
  if (rows.length === 0) continue;
  lines.push(`## ${scenario.title}`, "");
  if (scenario.key === "codec") {
    lines.push(
      "| runtime | operation | ns/message (median) |",
      "|---|---|---:|",
    );
    for (const r of rows) {
      const ns = (r.ns ?? []) as Record<string, number>[];
      for (const op of Object.keys(ns[0] ?? {})) {
        lines.push(
          `| ${r.client} | ${op} | ${fmt(median(ns.map((x) => x[op]!)), 0)} |`,
        );
      }
    }
    lines.push("");
    continue;
  }
  const ratioHead = scenario.key === "connect" || scenario.key === "idle"
    ? "ratio to floor ²"
    : "ratio to raw";
  lines.push(
    `| runtime | system | ${scenario.unit} | ${ratioHead} | ratio to JSON floor | CPU client / server | CPU µs per ${
      scenario.key === "connect" || scenario.key === "idle" ? "connection" : "call"
    }, client / server |`,
    "|---|---|---:|---:|---:|---:|---:|",
  );
  for (const r of rows) {
    const v = r.value;
    const cell = v
      ? `${fmt(v.median, v.median < 10 ? 2 : 0)} [${fmt(v.min, v.min < 10 ? 2 : 0)}–${
        fmt(v.max, v.max < 10 ? 2 : 0)
      }]` +
        (r.p99 ? ` (p99 ${fmt(r.p99.median)})` : "") +
        (r.heapPerConnKiB ? ` (heap ${fmt(r.heapPerConnKiB.median, 1)})` : "")
      : `failed: ${r.errors[0]?.slice(0, 80) ?? ""}`;
    const ratioCell = r.ratioToFloor ? fmt(r.ratioToFloor.median, 2) : "–";
    const jsonCell = r.ratioToJson ? fmt(r.ratioToJson.median, 2) : "–";
    const cpu = r.clientCpuPct === undefined
      ? "–"
      : `${fmt(r.clientCpuPct)}% / ${fmt(r.serverCpuPct)}%`;
    const perOp = r.clientCpuUsPerOp === undefined
      ? "–"
      : `${fmt(r.clientCpuUsPerOp, 1)} / ${fmt(r.serverCpuUsPerOp, 1)}`;
    const note = byId.get(r.system)?.note && !["connect", "idle"].includes(scenario.key)
      ? " ¹"
      : "";
    lines.push(
      `| ${
        runtimeOf(r)
      } | ${r.label}${note} | ${cell} | ${ratioCell} | ${jsonCell} | ${cpu} | ${perOp} |`,
    );
  }
  lines.push("");
}
lines.push(
  "² Floor: the raw echo for wsrpc and JSON floor rows, bare wsrpc for the ed25519 rows.",
  "",
);
if (SYSTEMS.some((s) => s.note)) {
  for (const s of SYSTEMS.filter((s) => s.note)) {
    lines.push(
      `¹ ${s.id}: ${s.note}; it runs fewer calls (${JSON.stringify(s.scale)}).`,
    );
  }
  lines.push("");
}
const threadRows = summary.filter((r) =>
  r.clientThreadsUsPerOp !== undefined || r.serverThreadsUsPerOp !== undefined
);
if (threadRows.length > 0) {
  lines.push(
    "## CPU by thread",
    "",
    "CPU µs per call (or connection) in the timed part, medians, by thread: `main` runs the protocol; " +
      "the others are the runtime's (Bun: `JITWorker` compiles, `HeapHelper` and `mi-scavenger` collect and free; " +
      "Deno: `V8 DefaultWorke` compiles and collects, `tokio-runtime-w` runs blocking work; Node: `node` are V8's and libuv's workers). " +
      "Threads under 1 µs are left out.",
    "",
    "| scenario | runtime | system | client | server |",
    "|---|---|---|---|---|",
  );
  const threadCell = (groups: Record<string, number> | undefined) =>
    groups === undefined ? "–" : Object.entries(groups)
      .filter(([, us]) => us >= 1)
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => `${name} ${fmt(us, 0)}`)
      .join(" · ");
  for (const scenario of SCENARIOS) {
    for (const r of threadRows.filter((r) => r.scenario === scenario.key)) {
      lines.push(
        `| ${scenario.title.split(" ")[0]} ${scenario.key} | ${runtimeOf(r)} | ${r.label} | ${
          threadCell(r.clientThreadsUsPerOp)
        } | ${threadCell(r.serverThreadsUsPerOp)} |`,
      );
    }
  }
  lines.push("");
}
lines.push(
  "## Targets",
  "",
  "| target | goal | measured (median) | met |",
  "|---|---|---:|:---:|",
);
for (const t of targets) {
  lines.push(
    `| ${t.name} | ${t.goal} | ${t.measured} | ${
      t.met === undefined ? "–" : t.met ? "yes" : "no"
    } |`,
  );
}
lines.push("");
await Deno.writeTextFile(`${OUT}RESULTS.md`, lines.join("\n"));
// Keep the written files as `deno fmt --check` wants them (tables aligned);
// bench/out/ is not formatted (excluded in deno.json).
if (!/(^|\/)bench\/out\/$/.test(OUT)) {
  await new Deno.Command(DENO, {
    // The root config: bench/package.json would otherwise make bench/ its own root.
    args: [
      "fmt",
      "--quiet",
      "--config",
      `${ROOT}deno.json`,
      `${OUT}RESULTS.md`,
      `${OUT}results.json`,
    ],
    env,
    stdout: "null",
    stderr: "inherit",
  }).output();
}
log(`wrote ${OUT}RESULTS.md and ${OUT}results.json (${elapsedS.toFixed(0)} s)`);
