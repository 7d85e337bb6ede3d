/**
 * `deno task bench:topics`: fan-out. Deliveries per second and the latency
 * from publish to delivery (p50, p99) against the subscribers of one topic
 * (1, 100, 1,000 and 10,000), and the server memory per subscription, for:
 *
 * - `wsrpc.memory`: one Deno instance on the in-process bus (`MemoryBus`);
 * - `wsrpc.redis` / `wsrpc.nats`: 4 Deno instances (separate processes) on
 *   `RedisBus` (node-redis) / `NatsBus` (`@nats-io/transport-node`);
 * - `sio.memory` / `sio.redis`: socket.io 4.8 on Node, one instance with its
 *   in-memory adapter / 4 instances with `@socket.io/redis-adapter` 8.3;
 *   rooms as topics, WebSocket transport. The same workload in the same run.
 *
 * Each point starts a fresh broker (a throwaway `redis-server` or
 * `nats-server -js` on an ephemeral 127.0.0.1 port, as tests/_brokers.ts
 * does), fresh instances and client processes. The subscribers are spread
 * over up to `--clients` client processes (default 3) and round-robin over
 * the instances. The first client process also publishes, through the
 * first instance, closed-loop (see bench/_topics_core.mjs): message n goes
 * out once all its own subscribers have message n - `window`, `window` =
 * 1,000 deliveries / subscribers, 1 to 16. So each point is at saturation,
 * and a delivery waits behind about 1,000 others at most. Every payload carries its publish time; each subscriber counts what
 * arrives in the timed part and its latency (one log histogram of 2 %
 * buckets, merged over processes). Memory: server RSS and heap after GC
 * (summed over the instances), before and after every connection subscribes,
 * per subscription.
 *
 * Writes `topics.json` and `topics-deliveries.svg`, `topics-p99.svg` to
 * `--out=DIR` (default bench/out/; the committed charts live in
 * docs/bench/). Flags: `--quick` (1, 100 and 1,000 subscribers, 1.5 s per
 * point), `--seconds=N` (timed part, default 5), `--levels=1,100`,
 * `--systems=wsrpc.memory,sio.memory`, `--clients=N`. Needs `redis-server`,
 * `nats-server` and `npm ci --prefix examples/cluster`. Raises the soft
 * limit on open files as `deno task stress` does; every step is bounded in
 * time.
 *
 * @module
 */

import { lineChart, type Series } from "./_svg.ts";
import { quantile } from "./_curve_client.ts";
import {
  type Broker,
  exists,
  NATS_SERVER,
  REDIS_SERVER,
  startNats,
  startRedis,
} from "../examples/cluster/brokers.ts";
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
const SECONDS = Number(flag("seconds") ?? (QUICK ? 1.5 : 5));
const WARMUP_MS = QUICK ? 700 : 1_500;
const LEVELS = (flag("levels")?.split(",") ??
  (QUICK ? [1, 100, 1_000] : [1, 100, 1_000, 10_000]))
  .map(Number);
const CLIENTS = Number(flag("clients") ?? 3);
const ONLY_SYSTEMS = flag("systems")?.split(",");
const IN_FLIGHT = 1_000;
const STEP_TIMEOUT_MS = 120_000;
const TOPIC = "bench";
const started = performance.now();

// 10,000 client plus 10,000 server sockets: run again under a raised limit.
await reexecUnderFdLimit(NOFILE, new URL(import.meta.url).pathname);
const log = stepLogger(started);
const env = childEnv(ROOT);

// ---------------------------------------------------------------- systems

interface TopicSystem {
  id: string;
  label: string;
  lib: "wsrpc" | "sio";
  bus: "memory" | "redis" | "nats";
  instances: number;
}

const ALL_SYSTEMS: TopicSystem[] = [
  {
    id: "wsrpc.memory",
    label: "wsrpc, 1 instance",
    lib: "wsrpc",
    bus: "memory",
    instances: 1,
  },
  {
    id: "wsrpc.redis",
    label: "wsrpc, 4 on Redis",
    lib: "wsrpc",
    bus: "redis",
    instances: 4,
  },
  {
    id: "wsrpc.nats",
    label: "wsrpc, 4 on NATS",
    lib: "wsrpc",
    bus: "nats",
    instances: 4,
  },
  {
    id: "sio.memory",
    label: "socket.io, 1 instance",
    lib: "sio",
    bus: "memory",
    instances: 1,
  },
  {
    id: "sio.redis",
    label: "socket.io, 4 on Redis",
    lib: "sio",
    bus: "redis",
    instances: 4,
  },
];
const SYSTEMS = ALL_SYSTEMS.filter((s) =>
  ONLY_SYSTEMS === undefined || ONLY_SYSTEMS.includes(s.id)
);

// ---------------------------------------------------------------- processes

type Proc = LineProcess;

/** What is running now, stopped if the run is interrupted. */
const live = new Set<Deno.ChildProcess>();
const brokers = new Set<Broker>();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    for (const child of live) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
    await Promise.all([...brokers].map((b) => b.stop()));
    Deno.exit(130);
  });
}

function spawn(
  cmd: string,
  args: string[],
  extra: Record<string, string> = {},
): Proc {
  const proc = spawnLines(cmd, args, { env: { ...env, ...extra }, cwd: BENCH });
  live.add(proc.child);
  proc.child.status.then(() => live.delete(proc.child));
  return proc;
}

function nextLine(p: Proc, what: string, timeoutMs = STEP_TIMEOUT_MS): Promise<string> {
  return readLine(p, what, timeoutMs);
}

interface Instance {
  proc: Proc;
  port: number;
}

async function startInstance(
  s: TopicSystem,
  broker: Broker | undefined,
): Promise<Instance> {
  const busEnv = { BUS: s.bus, BUS_URL: broker?.url ?? "" };
  const proc = s.lib === "wsrpc"
    ? spawn(
      Deno.execPath(),
      ["run", "-A", "--v8-flags=--expose-gc", `${BENCH}_topics_server.ts`],
      busEnv,
    )
    : spawn("node", ["--expose-gc", `${BENCH}_topics_server_sio.mjs`], busEnv);
  for (;;) {
    const m = (await nextLine(proc, `instance ${s.id}`, 30_000)).match(
      /READY (\d+)/,
    );
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

async function stats(instances: Instance[], gc = false): Promise<Stats> {
  const all: Stats[] = await Promise.all(instances.map(async ({ port }) => {
    const response = await fetch(
      `http://127.0.0.1:${port}/stats${gc ? "?gc=1" : ""}`,
    );
    return await response.json();
  }));
  return all.reduce((a, b) => ({
    cpuMs: a.cpuMs + b.cpuMs,
    rss: a.rss + b.rss,
    heapUsed: a.heapUsed + b.heapUsed,
    sessions: a.sessions + b.sessions,
  }));
}

function startClient(s: TopicSystem): Proc {
  return s.lib === "wsrpc"
    ? spawn(Deno.execPath(), ["run", "-A", `${BENCH}_topics_client.ts`])
    : spawn("node", [`${BENCH}_topics_client_sio.mjs`]);
}

/** One JSON answer of a client process (see bench/_topics_core.mjs). */
// deno-lint-ignore no-explicit-any
type Answer = any;

/** `ask` of bench/_harness.ts within the step timeout. */
const ask = (clients: Proc[], commands: unknown[], what: string): Promise<Answer[]> =>
  askAll(clients, commands, what, STEP_TIMEOUT_MS);

// ---------------------------------------------------------------- one point

interface Point {
  subscribers: number;
  deliveriesPerSecond: number;
  publishesPerSecond: number;
  p50Us: number;
  p99Us: number;
  /** Server CPU over the timed run, summed over the instances (100 = one core). */
  serverCpuPct: number;
  rssKiBPerSubscription: number;
  heapKiBPerSubscription: number;
  window: number;
  stalls: number;
  /** Sessions the servers lost during the run (closed by a limit). */
  lostSessions: number;
}

async function point(s: TopicSystem, n: number): Promise<Point | undefined> {
  let broker: Broker | undefined;
  const instances: Instance[] = [];
  const procs: Proc[] = [];
  try {
    if (s.bus === "redis") broker = await startRedis();
    if (s.bus === "nats") broker = await startNats();
    if (broker) brokers.add(broker);
    for (let i = 0; i < s.instances; i++) {
      instances.push(await startInstance(s, broker));
    }
    const urls = instances.map(({ port }) => `ws://127.0.0.1:${port}/`);
    const counts = split(n, Math.min(n, CLIENTS));
    const clients = counts.map(() => startClient(s));
    procs.push(...clients);
    const firsts = counts.map((_, i) => counts.slice(0, i).reduce((a, b) => a + b, 0));
    const opened = await ask(
      clients,
      counts.map((k, i) => ({
        op: "open",
        urls,
        first: firsts[i],
        n: k,
        concurrency: 32,
      })),
      `${s.id} open ${n}`,
    );
    const open = opened.reduce((sum, o) => sum + o.open, 0);
    if (open < n) {
      log(
        `  ${s.id}: ${open} of ${n} opened (${opened.find((o) => o.firstError)?.firstError ?? ""})`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
    const m0 = await stats(instances, true);
    const subscribed = await ask(
      clients,
      counts.map(() => ({ op: "subscribe", topic: TOPIC })),
      `${s.id} subscribe ${n}`,
    );
    const subs = subscribed.reduce((sum, o) => sum + o.subscribed, 0);
    await new Promise((r) => setTimeout(r, 200));
    const m1 = await stats(instances, true);
    const window = Math.max(1, Math.min(16, Math.ceil(IN_FLIGHT / n)));
    const ms = SECONDS * 1000;
    const c0 = await stats(instances);
    const measured = await ask(
      clients,
      clients.map((_, i) =>
        i === 0
          ? {
            op: "publish",
            urls,
            topic: TOPIC,
            warmupMs: WARMUP_MS,
            ms,
            window,
          }
          : { op: "measure", warmupMs: WARMUP_MS, ms }
      ),
      `${s.id} run ${n}`,
    );
    const published = measured[0];
    const c1 = await stats(instances);
    const hist: Record<string, number> = {};
    for (const m of measured) {
      for (const [b, c] of Object.entries(m.hist as Record<string, number>)) {
        hist[b] = (hist[b] ?? 0) + c;
      }
    }
    const deliveries = measured.reduce((sum, m) => sum + m.deliveries, 0);
    const result: Point = {
      subscribers: subs,
      deliveriesPerSecond: deliveries / SECONDS,
      publishesPerSecond: published.published / (SECONDS + WARMUP_MS / 1000),
      p50Us: quantile(hist, 0.5),
      p99Us: quantile(hist, 0.99),
      serverCpuPct: (c1.cpuMs - c0.cpuMs) / (WARMUP_MS + ms) * 100,
      rssKiBPerSubscription: (m1.rss - m0.rss) / subs / 1024,
      heapKiBPerSubscription: (m1.heapUsed - m0.heapUsed) / subs / 1024,
      window,
      stalls: published.stalls,
      // The publishing connection may still be counted: this undercounts by at most 1.
      lostSessions: Math.max(0, m1.sessions - c1.sessions),
    };
    log(
      `  ${s.id.padEnd(13)} ${String(subs).padStart(6)} subs  ${
        Math.round(result.deliveriesPerSecond).toLocaleString("en-US").padStart(
          9,
        )
      } deliveries/s  (${
        Math.round(result.publishesPerSecond)
      } publishes/s, window ${window})  p50 ${Math.round(result.p50Us)} µs  p99 ${
        Math.round(result.p99Us)
      } µs  server CPU ${Math.round(result.serverCpuPct)}%  ${
        result.rssKiBPerSubscription.toFixed(2)
      } KiB RSS, ${result.heapKiBPerSubscription.toFixed(2)} KiB heap per subscription${
        result.stalls ? `  ${result.stalls} stalls` : ""
      }${result.lostSessions > 0 ? `  ${result.lostSessions} sessions lost` : ""}`,
    );
    return result;
  } catch (error) {
    log(`  ${s.id} at ${n}: FAILED ${(error as Error).message}`);
    return undefined;
  } finally {
    await Promise.all(procs.map(kill));
    await Promise.all(instances.map((i) => kill(i.proc)));
    await broker?.stop();
    if (broker) brokers.delete(broker);
  }
}

// ---------------------------------------------------------------- run

for (
  const [binary, pkg] of [[REDIS_SERVER, "redis-server"], [
    NATS_SERVER,
    "nats-server",
  ]]
) {
  if (!await exists(binary!)) {
    console.error(`${binary} is not installed: apt-get install ${pkg}`);
    Deno.exit(1);
  }
}
if (
  !await exists(`${ROOT}examples/cluster/node_modules/socket.io/package.json`)
) {
  console.error(
    "The cluster clients and socket.io are missing: npm ci --prefix examples/cluster",
  );
  Deno.exit(1);
}

const loadBefore = Deno.loadavg();
log(
  `topics: ${
    LEVELS.join(", ")
  } subscribers, ${SECONDS} s each after ${WARMUP_MS} ms, up to ${CLIENTS} client processes; load ${
    loadBefore.map((l) => l.toFixed(1)).join(" ")
  }`,
);
const results: Record<string, Point[]> = {};
for (const n of LEVELS) {
  // Interleaved: every system at one level before the next level.
  for (const s of SYSTEMS) {
    const p = await point(s, n);
    if (p) (results[s.id] ??= []).push(p);
  }
}

/** wsrpc against socket.io on the same bus: deliveries/s ratio and p99 ratio per level. */
const ratios: Record<
  string,
  { subscribers: number; deliveries: number; p99: number }[]
> = {};
for (
  const [ours, theirs] of [["wsrpc.memory", "sio.memory"], [
    "wsrpc.redis",
    "sio.redis",
  ]]
) {
  const a = results[ours!] ?? [];
  const b = results[theirs!] ?? [];
  const rows = LEVELS.flatMap((n) => {
    const x = a.find((p) => p.subscribers >= n * 0.99 && p.subscribers <= n);
    const y = b.find((p) => p.subscribers >= n * 0.99 && p.subscribers <= n);
    return x && y
      ? [{
        subscribers: n,
        deliveries: x.deliveriesPerSecond / y.deliveriesPerSecond,
        p99: x.p99Us / y.p99Us,
      }]
      : [];
  });
  if (rows.length) ratios[`${ours} / ${theirs}`] = rows;
}
for (const [pair, rows] of Object.entries(ratios)) {
  log(
    `${pair}: ${
      rows.map((r) =>
        `${r.subscribers}: deliveries ×${r.deliveries.toFixed(2)}, p99 ×${r.p99.toFixed(2)}`
      )
        .join("; ")
    }`,
  );
}

const loadAfter = Deno.loadavg();
const cpuModel = (await Deno.readTextFile("/proc/cpuinfo").catch(() => ""))
  .match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
const note = `${new Date().toISOString().slice(0, 10)}, ${navigator.hardwareConcurrency} × ${
  cpuModel.replace(/\s+\d+-Core.*$/, "")
} (shared), load ${loadBefore[0]!.toFixed(1)}–${
  loadAfter[0]!.toFixed(1)
}, Deno ${Deno.version.deno}${QUICK ? "; --quick" : ""}`;
const label = (id: string) => ALL_SYSTEMS.find((s) => s.id === id)?.label ?? id;
const series = (f: (p: Point) => number): Series[] =>
  Object.entries(results).map(([id, pts]) => ({
    name: label(id),
    points: pts.map((p) => [p.subscribers, f(p)]),
    ...(id.startsWith("sio") ? { dashed: true } : {}),
  }));
const charts: Record<string, string> = {
  "topics-deliveries.svg": lineChart({
    title: "Deliveries per second against subscribers of one topic",
    xLabel: "subscribers of one topic",
    yLabel: "deliveries/s (all subscribers)",
    xLog: true,
    yLog: true,
    series: series((p) => p.deliveriesPerSecond),
    note,
  }),
  "topics-p99.svg": lineChart({
    title: "p99 latency from publish to delivery",
    xLabel: "subscribers of one topic",
    yLabel: "p99 latency (µs)",
    xLog: true,
    yLog: true,
    series: series((p) => p.p99Us),
    note,
  }),
};
await Deno.mkdir(OUT, { recursive: true });
for (const [name, svg] of Object.entries(charts)) {
  await Deno.writeTextFile(`${OUT}${name}`, svg);
}
await Deno.writeTextFile(
  `${OUT}topics.json`,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      note,
      quick: QUICK,
      seconds: SECONDS,
      warmupMs: WARMUP_MS,
      clients: CLIENTS,
      loadavg: { before: loadBefore, after: loadAfter },
      results,
      ratios,
    },
    null,
    2,
  ) + "\n",
);
log(`wrote ${Object.keys(charts).join(", ")} and topics.json to ${OUT}`);
