/**
 * `deno task bench:curves`: how the cost grows with the work.
 *
 * - Calls: calls/s and p99 latency with 1, 10, 100, 1,000 and 10,000
 *   concurrent connections, each making ping calls one after another, for
 *   wsrpc and the JSON floor on Deno and Bun. The connections are spread over
 *   up to `--clients` client processes (default 4); a fresh server per system.
 * - Memory: server RSS and heap per idle connection at 100, 1,000 and 10,000
 *   connections: a bare WebSocket (the raw echo server), wsrpc, and wsrpc
 *   with the ed25519 handshake (WebCrypto), on Deno and Bun.
 * - Deliveries per second against subscribers: `deno task bench:topics`
 *   (bench/topics.ts).
 *
 * Writes `bench/out/curves.json` and one SVG per chart to `--out=DIR`
 * (default bench/out/; the committed charts live in docs/bench/). Flags:
 * `--quick` (up to 1,000 connections, 1 s per point), `--seconds=N` (timed
 * part of each point, default 4), `--levels=1,10,100`, `--systems=deno.wsrpc,...`,
 * `--only=calls,memory`. Raises the soft limit on open files as
 * `deno task stress` does; every step is bounded in time.
 *
 * @module
 */

import { lineChart, type Series } from "./_svg.ts";
import { quantile } from "./_curve_client.ts";
import {
  ask as askAll,
  childEnv,
  flag,
  kill,
  type LineProcess,
  nextLine as readLine,
  reexecUnderFdLimit,
  spawnLines,
  split,
  stepLogger,
} from "./_harness.ts";

const BENCH = new URL(".", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;
const NOFILE = 65_536;
const QUICK = Deno.args.includes("--quick");
const OUT = (flag("out") ?? `${BENCH}out/`).replace(/\/?$/, "/");
const SECONDS = Number(flag("seconds") ?? (QUICK ? 1 : 4));
const WARMUP_MS = QUICK ? 300 : 1_000;
const LEVELS = (flag("levels")?.split(",") ?? (QUICK ? [1, 10, 100, 1000] : [
  1,
  10,
  100,
  1_000,
  10_000,
])).map(Number);
const MEMORY_LEVELS = QUICK ? [100, 1_000] : [100, 1_000, 10_000];
const CLIENTS = Number(flag("clients") ?? 4);
const ONLY = flag("only")?.split(",");
const ONLY_SYSTEMS = flag("systems")?.split(",");
const STEP_TIMEOUT_MS = 120_000;
const started = performance.now();

// 10,000 client plus 10,000 server sockets: run again under a raised limit.
await reexecUnderFdLimit(NOFILE, new URL(import.meta.url).pathname);
const log = stepLogger(started);
const env = childEnv(ROOT);
const DENO = Deno.execPath();
const BUN = await new Deno.Command("sh", {
  args: ["-c", "command -v bun"],
  env,
  stdout: "piped",
  stderr: "null",
}).output().then(
  (o) => new TextDecoder().decode(o.stdout).trim() || undefined,
  () => undefined,
);

// ---------------------------------------------------------------- systems

interface CurveSystem {
  id: string;
  label: string;
  runtime: "deno" | "bun";
  /** Server mode (bench/_server_deno.ts, bench/_server_bun.ts). */
  mode: string;
  impl: string;
  auth?: "webcrypto";
  path?: string;
  dashed?: boolean;
}

const system = (
  runtime: "deno" | "bun",
  kind: "raw" | "json" | "wsrpc" | "ed25519",
): CurveSystem => ({
  id: `${runtime}.${kind === "ed25519" ? "wsrpc+ed25519" : kind}`,
  label: `${runtime === "deno" ? "Deno" : "Bun"}: ${
    {
      raw: "bare WebSocket",
      json: "JSON floor",
      wsrpc: "wsrpc",
      ed25519: "wsrpc + ed25519",
    }[kind]
  }`,
  runtime,
  mode: kind === "ed25519" ? "wsrpc-auth-webcrypto" : kind,
  impl: kind === "ed25519" ? "wsrpc" : kind,
  ...(kind === "ed25519" ? { auth: "webcrypto" as const } : {}),
  // The raw echo server greets on /first, so its clients count as connected as a wsrpc one.
  ...(kind === "raw" ? { path: "/first" } : {}),
  ...(kind === "json" || kind === "raw" ? { dashed: true } : {}),
});

const pick = (systems: CurveSystem[]) =>
  systems.filter((s) =>
    (ONLY_SYSTEMS === undefined || ONLY_SYSTEMS.includes(s.id)) &&
    (s.runtime !== "bun" || BUN !== undefined)
  );
const CALL_SYSTEMS = pick([
  system("deno", "json"),
  system("deno", "wsrpc"),
  system("bun", "json"),
  system("bun", "wsrpc"),
]);
const MEMORY_SYSTEMS = pick([
  system("deno", "raw"),
  system("deno", "wsrpc"),
  system("deno", "ed25519"),
  system("bun", "raw"),
  system("bun", "wsrpc"),
  system("bun", "ed25519"),
]);

// ---------------------------------------------------------------- processes

type Proc = LineProcess;

function spawn(cmd: string, args: string[]): Proc {
  return spawnLines(cmd, args, { env, cwd: BENCH });
}

function nextLine(p: Proc, what: string, timeoutMs = STEP_TIMEOUT_MS): Promise<string> {
  return readLine(p, what, timeoutMs);
}

interface Server {
  proc: Proc;
  port: number;
}

async function startServer(s: CurveSystem): Promise<Server> {
  const proc = s.runtime === "deno"
    ? spawn(DENO, [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      `${BENCH}_server_deno.ts`,
      s.mode,
    ])
    : spawn(BUN!, [`${BENCH}_server_bun.ts`, s.mode]);
  for (;;) {
    const line = await nextLine(proc, `server ${s.id}`, 30_000);
    const m = line.match(/READY (\d+)/);
    if (m) {
      void (async () => {
        while (!(await proc.lines.next()).done);
      })().catch(() => {});
      return { proc, port: Number(m[1]) };
    }
  }
}

interface Stats {
  cpuMs: number;
  rss: number;
  heapUsed: number;
  sessions: number;
}

async function stats(server: Server, gc = false): Promise<Stats> {
  const response = await fetch(
    `http://127.0.0.1:${server.port}/stats${gc ? "?gc=1" : ""}`,
  );
  return await response.json();
}

/** Client processes for `s`, connections spread evenly over them. */
function startClients(s: CurveSystem, server: Server, count: number): Proc[] {
  const spec = JSON.stringify({
    impl: s.impl,
    ...(s.auth ? { auth: s.auth } : {}),
    url: `ws://127.0.0.1:${server.port}${s.path ?? "/"}`,
  });
  return Array.from(
    { length: count },
    () =>
      s.runtime === "deno"
        ? spawn(DENO, ["run", "-A", `${BENCH}_curve_client.ts`, spec])
        : spawn(BUN!, [`${BENCH}_curve_client.ts`, spec]),
  );
}

/** One JSON answer of a client process (see bench/_curve_client.ts). */
// deno-lint-ignore no-explicit-any
type Answer = any;

/** `ask` of bench/_harness.ts within the step timeout. */
const ask = (clients: Proc[], commands: unknown[], what: string): Promise<Answer[]> =>
  askAll(clients, commands, what, STEP_TIMEOUT_MS);

// ---------------------------------------------------------------- calls

interface CallPoint {
  connections: number;
  callsPerSecond: number;
  p50Us: number;
  p99Us: number;
  serverCpuPct: number;
  errors: number;
}

async function callCurve(s: CurveSystem): Promise<CallPoint[]> {
  const points: CallPoint[] = [];
  for (const n of LEVELS) {
    const server = await startServer(s);
    const counts = split(n, Math.min(n, CLIENTS));
    const clients = startClients(s, server, counts.length);
    try {
      const opened = await ask(
        clients,
        counts.map((k) => ({ op: "open", n: k, concurrency: 32 })),
        `${s.id} open ${n}`,
      );
      const open = opened.reduce((sum, o) => sum + o.open, 0);
      if (open < n) {
        log(
          `  ${s.id}: ${open} of ${n} opened (${opened[0].firstError ?? ""})`,
        );
      }
      const s0 = await stats(server);
      const loads = await ask(
        clients,
        counts.map(() => ({
          op: "load",
          warmupMs: WARMUP_MS,
          ms: SECONDS * 1000,
        })),
        `${s.id} load ${n}`,
      );
      const s1 = await stats(server);
      const hist: Record<string, number> = {};
      for (const l of loads) {
        for (const [b, c] of Object.entries(l.hist as Record<string, number>)) {
          hist[b] = (hist[b] ?? 0) + c;
        }
      }
      const calls = loads.reduce((sum, l) => sum + l.calls, 0);
      const point = {
        connections: open,
        callsPerSecond: calls / SECONDS,
        p50Us: quantile(hist, 0.5),
        p99Us: quantile(hist, 0.99),
        serverCpuPct: (s1.cpuMs - s0.cpuMs) / (WARMUP_MS + SECONDS * 1000) *
          100,
        errors: loads.reduce((sum, l) => sum + l.errors, 0),
      };
      points.push(point);
      log(
        `  ${s.id.padEnd(14)} ${String(open).padStart(6)} conns  ${
          Math.round(point.callsPerSecond).toLocaleString("en-US").padStart(8)
        } calls/s  p50 ${Math.round(point.p50Us)} µs  p99 ${
          Math.round(point.p99Us)
        } µs  server CPU ${Math.round(point.serverCpuPct)}%${
          point.errors ? `  ${point.errors} errors` : ""
        }`,
      );
    } catch (error) {
      log(`  ${s.id} at ${n}: FAILED ${(error as Error).message}`);
    } finally {
      await Promise.all(clients.map(kill));
      await kill(server.proc);
    }
  }
  return points;
}

// ---------------------------------------------------------------- memory

interface MemoryPoint {
  connections: number;
  rssKiBPerConn: number;
  heapKiBPerConn: number;
  sessions: number;
}

async function memoryCurve(s: CurveSystem): Promise<MemoryPoint[]> {
  const points: MemoryPoint[] = [];
  const server = await startServer(s);
  const clients = startClients(s, server, CLIENTS);
  try {
    // Warm the server (code compiled, pools grown) with a few connections first.
    await ask(
      clients,
      split(20, CLIENTS).map((k) => ({ op: "open", n: k })),
      `${s.id} warm`,
    );
    await new Promise((r) => setTimeout(r, 200));
    const base = await stats(server, true);
    let total = 0;
    for (const n of MEMORY_LEVELS) {
      const opened = await ask(
        clients,
        split(n - total, CLIENTS).map((k) => ({
          op: "open",
          n: k,
          concurrency: 32,
        })),
        `${s.id} open to ${n}`,
      );
      total = n;
      const open = opened.reduce((sum, o) => sum + o.open, 0) - 20;
      await new Promise((r) => setTimeout(r, 300));
      const now = await stats(server, true);
      const point = {
        connections: open,
        rssKiBPerConn: (now.rss - base.rss) / open / 1024,
        heapKiBPerConn: (now.heapUsed - base.heapUsed) / open / 1024,
        sessions: now.sessions,
      };
      points.push(point);
      log(
        `  ${s.id.padEnd(22)} ${String(open).padStart(6)} idle  ${
          point.rssKiBPerConn.toFixed(1)
        } KiB RSS/conn  ${
          point.heapKiBPerConn.toFixed(1)
        } KiB heap/conn  (${now.sessions} sessions)`,
      );
    }
  } catch (error) {
    log(`  ${s.id}: FAILED ${(error as Error).message}`);
  } finally {
    await Promise.all(clients.map(kill));
    await kill(server.proc);
  }
  return points;
}

// ---------------------------------------------------------------- run

const calls: Record<string, CallPoint[]> = {};
const memory: Record<string, MemoryPoint[]> = {};
if (ONLY === undefined || ONLY.includes("calls")) {
  log(
    `calls: levels ${LEVELS.join(", ")}, ${SECONDS} s each, up to ${CLIENTS} client processes`,
  );
  for (const s of CALL_SYSTEMS) calls[s.id] = await callCurve(s);
}
if (ONLY === undefined || ONLY.includes("memory")) {
  log(`memory: ${MEMORY_LEVELS.join(", ")} idle connections`);
  for (const s of MEMORY_SYSTEMS) memory[s.id] = await memoryCurve(s);
}

const label = (id: string) =>
  [...CALL_SYSTEMS, ...MEMORY_SYSTEMS].find((s) => s.id === id)?.label ?? id;
const dashed = (id: string) =>
  [...CALL_SYSTEMS, ...MEMORY_SYSTEMS].find((s) => s.id === id)?.dashed;
const cpuModel = (await Deno.readTextFile("/proc/cpuinfo").catch(() => ""))
  .match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
const note = `${new Date().toISOString().slice(0, 10)}, ${navigator.hardwareConcurrency} × ${
  cpuModel.replace(/\s+\d+-Core.*$/, "")
}, Deno ${Deno.version.deno}; client and server processes share the machine${
  QUICK ? "; --quick" : ""
}`;

await Deno.mkdir(OUT, { recursive: true });
const charts: Record<string, string> = {};
if (Object.keys(calls).length) {
  const series = (f: (p: CallPoint) => number): Series[] =>
    Object.entries(calls).map(([id, pts]) => ({
      name: label(id),
      points: pts.map((p) => [p.connections, f(p)]),
      ...(dashed(id) ? { dashed: true } : {}),
    }));
  charts["curve-calls.svg"] = lineChart({
    title: "Calls per second against concurrent connections",
    xLabel: "connections, each making one call at a time",
    yLabel: "calls/s (all connections)",
    xLog: true,
    series: series((p) => p.callsPerSecond),
    note,
  });
  charts["curve-p99.svg"] = lineChart({
    title: "p99 latency against concurrent connections",
    xLabel: "connections, each making one call at a time",
    yLabel: "p99 latency (µs)",
    xLog: true,
    yLog: true,
    series: series((p) => p.p99Us),
    note,
  });
}
if (Object.keys(memory).length) {
  charts["curve-memory.svg"] = lineChart({
    title: "Server memory per idle connection",
    xLabel: "idle connections",
    yLabel: "server RSS per connection (KiB)",
    xLog: true,
    series: Object.entries(memory).map(([id, pts]) => ({
      name: label(id),
      points: pts.map((p) => [p.connections, p.rssKiBPerConn]),
      ...(dashed(id) ? { dashed: true } : {}),
    })),
    note,
  });
}
for (const [name, svg] of Object.entries(charts)) {
  await Deno.writeTextFile(`${OUT}${name}`, svg);
}
await Deno.writeTextFile(
  `${OUT}curves.json`,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      note,
      quick: QUICK,
      seconds: SECONDS,
      clients: CLIENTS,
      loadavg: Deno.loadavg(),
      calls,
      memory,
    },
    null,
    2,
  ) + "\n",
);
log(`wrote ${Object.keys(charts).join(", ")} and curves.json to ${OUT}`);
