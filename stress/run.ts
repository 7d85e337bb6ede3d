/**
 * `deno task stress`: the long forms of the six reliability scenarios
 * (docs/reliability.md). Everything runs on 127.0.0.1, is bounded in count and
 * time, and stops by itself (a watchdog ends the run after 15 minutes).
 *
 * Usage: `deno task stress [scenario...] [--quick] [--json FILE]`, where a
 * scenario is `fuzz`, `server-death`, `client-death`, `slow-consumer`,
 * `floods` or `soak` (default: all). `--quick` uses the CI sizes. Prints each
 * scenario's figures and checks, and exits 1 if a check failed.
 *
 * @module
 */

import { denoCloseLeak, fuzz } from "./fuzz.ts";
import { serverDeath } from "./server_death.ts";
import { clientDeath } from "./client_death.ts";
import { slowConsumer } from "./slow_consumer.ts";
import { floods } from "./floods.ts";
import { soak } from "./soak.ts";

const NOFILE = 65_536;
const WATCHDOG_MS = 15 * 60_000;

// 5,000 client plus 5,000 server sockets need more descriptors than the
// usual soft limit of 1,024: re-run under a raised limit once.
if (!Deno.args.includes("--no-reexec")) {
  const probe = await new Deno.Command("bash", { args: ["-c", "ulimit -n"], stdout: "piped" })
    .output().catch(() => undefined);
  const current = probe ? Number(new TextDecoder().decode(probe.stdout).trim()) : NaN;
  if (Number.isFinite(current) && current < 16_384) {
    const self = new URL(import.meta.url).pathname;
    const status = await new Deno.Command("bash", {
      args: [
        "-c",
        `ulimit -n ${NOFILE} 2>/dev/null || ulimit -n $(ulimit -Hn); exec "$0" "$@"`,
        Deno.execPath(),
        "run",
        "-A",
        "--v8-flags=--expose-gc",
        self,
        "--no-reexec",
        ...Deno.args,
      ],
      stdout: "inherit",
      stderr: "inherit",
    }).spawn().status;
    Deno.exit(status.code);
  }
}

const quick = Deno.args.includes("--quick");
const jsonAt = Deno.args.indexOf("--json");
const jsonPath = jsonAt >= 0 ? Deno.args[jsonAt + 1] : undefined;
const names = Deno.args.filter((a, i) => !a.startsWith("--") && (jsonAt < 0 || i !== jsonAt + 1));

const watchdog = setTimeout(() => {
  console.error(`stress: watchdog: still running after ${WATCHDOG_MS / 60_000} min, giving up`);
  Deno.exit(2);
}, WATCHDOG_MS);

const failures: string[] = [];
function check(scenario: string, what: string, ok: boolean): void {
  if (!ok) failures.push(`${scenario}: ${what}`);
  console.log(`  ${ok ? "ok  " : "FAIL"} ${what}`);
}

const scenarios: Record<string, () => Promise<Record<string, unknown>>> = {
  "fuzz": async () => {
    const r = await fuzz({
      seed: 20261124,
      frames: quick ? 3_000 : 200_000,
      concurrency: 16,
      settleMs: 30_000,
    });
    check(
      "fuzz",
      "no unhandled rejection, no uncaught error",
      r.unhandledRejections + r.uncaughtErrors === 0,
    );
    check("fuzz", "prototypes untouched", r.prototypeClean);
    check(
      "fuzz",
      "every well-behaved call answered correctly",
      r.goodCalls > 0 && r.goodCallsWrong === 0,
    );
    check("fuzz", "no session left", r.sessionsAfter === 0);
    check(
      "fuzz",
      `heap back within 8 MB of its start (${r.heapStartMB} MB; ${r.heapEndMB} MB at the end, ` +
        `${r.heapSettledMB} MB after ${r.settledAfterMs} ms)`,
      r.heapSettledMB - r.heapStartMB < 8,
    );
    // The same retention without wsrpc, for comparison (reported, not checked).
    const control = await denoCloseLeak(quick ? 500 : 5_000);
    return { ...r, denoCloseLeakKBPerConnection: control };
  },
  "server-death": async () => {
    const rounds = [];
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      const r = await serverDeath({ calls: 1_000, after: quick ? 50 : 1_000 });
      check(
        "server-death",
        `round ${i + 1}: 1,000 calls rejected with ConnectionClosedError`,
        r.typedRejections === 1_000,
      );
      check(
        "server-death",
        `round ${i + 1}: all settled within 1 s (max ${r.settleMaxMs} ms)`,
        r.settleMaxMs < 1_000,
      );
      check(
        "server-death",
        `round ${i + 1}: all ${r.calls} calls reached the server before it died`,
        r.receivedBeforeKill === r.calls,
      );
      check(
        "server-death",
        `round ${i + 1}: reconnected, offline call and all ${r.after} new calls succeed ` +
          `on the new server`,
        r.offlineCallOk && r.afterOk === r.after && r.receivedByNewServer === r.after + 1,
      );
      check("server-death", `round ${i + 1}: no request sent twice`, r.duplicateSends === 0);
      rounds.push(r);
    }
    return { rounds };
  },
  "client-death": async () => {
    const r = await clientDeath({ clients: quick ? 10 : 500, requestsEach: quick ? 5 : 20 });
    const n = quick ? 10 : 500;
    for (
      const name of ["midHandshake", "midRequest", "midFrame", "midFrameWithRequests"] as const
    ) {
      check(
        "client-death",
        `${name}: all ${n} sessions open before the clients vanished`,
        r[name].sessionsBefore === n,
      );
    }
    check(
      "client-death",
      "midUpgrade: no session for a half-sent upgrade",
      r.midUpgrade.sessionsBefore === 0,
    );
    for (const [name, c] of Object.entries(r)) {
      check(
        "client-death",
        `${name}: sessions, in-flight and handlers back to 0`,
        c.sessionsAfter + c.inFlightAfter + c.runningHandlersAfter === 0,
      );
      if (c.expectedInFlight === 0) {
        // Nothing to abort here: say so, rather than pass 0 === 0 as "every handler aborted".
        check(
          "client-death",
          `${name}: no request in flight, no handler aborted`,
          c.inFlightBefore === 0 && c.runningBefore === 0 && c.handlersAborted === 0,
        );
        continue;
      }
      check(
        "client-death",
        `${name}: all ${c.expectedInFlight} requests in flight and running before`,
        c.inFlightBefore === c.expectedInFlight && c.runningBefore === c.expectedInFlight,
      );
      check(
        "client-death",
        `${name}: every abandoned handler aborted (${c.handlersAborted})`,
        c.handlersAborted === c.expectedInFlight,
      );
    }
    return { ...r };
  },
  "slow-consumer": async () => {
    const r = await slowConsumer(
      quick
        ? {
          clients: 2,
          highWaterMark: 256 * 1024,
          writeTimeoutMs: 500,
          pushSize: 16_384,
          pushCount: 20_000,
        }
        : {
          clients: 20,
          highWaterMark: 4 * 1024 * 1024,
          writeTimeoutMs: 5_000,
          pushSize: 65_536,
          pushCount: 100_000,
        },
    );
    check(
      "slow-consumer",
      `writes waited: the server filled the high-water mark and stopped (${r.pushedWhileBlocked} ` +
        `of ${r.requestedPushes} pushes written)`,
      r.pushedPerClientMB >= r.highWaterMarkMB && r.pushedWhileBlocked < r.requestedPushes,
    );
    check(
      "slow-consumer",
      `closed after writeTimeoutMs, not before (${r.closedAfterMs} ms)`,
      r.closedAfterMs >= r.writeTimeoutMs,
    );
    check("slow-consumer", "every client closed with 1008", r.closeCodes["1008"] === r.clients);
    check("slow-consumer", "no session left", r.sessionsAfter === 0);
    check(
      "slow-consumer",
      "server wrote at most high-water mark + 32 MB per client before waiting",
      r.pushedPerClientMB < r.highWaterMarkMB + 32,
    );
    // What the server may hold for a client is its high-water mark plus one
    // message; the requested stream (GBs) must not reach the heap.
    const heapBoundMB = r.clients * (r.highWaterMarkMB + r.pushSizeMB) + 16;
    check(
      "slow-consumer",
      `heap growth ${Math.round((r.heapPeakMB - r.heapBeforeMB) * 10) / 10} MB under ` +
        `${Math.round(heapBoundMB)} MB (clients x (mark + one message) + 16 MB)`,
      r.heapPeakMB - r.heapBeforeMB < heapBoundMB,
    );
    return { ...r };
  },
  "floods": async () => {
    const r = await floods(
      quick
        ? {
          connections: 300,
          handshakes: 100,
          handshakeTimeoutMs: 500,
          flooders: 2,
          floodMs: 1_000,
          maxInFlight: 8,
        }
        : {
          connections: 5_000,
          handshakes: 2_000,
          handshakeTimeoutMs: 2_000,
          flooders: 8,
          floodMs: 5_000,
          maxInFlight: 64,
        },
    );
    check(
      "floods",
      `${r.connections} authenticated connections held`,
      r.serverSessionsHeld === r.connections,
    );
    check(
      "floods",
      "every stalled handshake closed with 4100",
      r.handshakeCloseCodes["4100"] === r.handshakes,
    );
    check(
      "floods",
      "in-flight limit enforced, no other error",
      r.floodRefusedInFlight > 0 && r.floodOtherErrors === 0,
    );
    const probes = [
      r.baseline,
      r.duringConnect,
      r.whileHeld,
      r.duringHandshakeFlood,
      r.duringRequestFlood,
    ];
    check(
      "floods",
      "well-behaved client: no call failed in any phase",
      probes.every((p) => p.failed === 0 && p.calls > 0),
    );
    check("floods", "no session left", r.sessionsAfter === 0);
    return { ...r };
  },
  "soak": async () => {
    const r = await soak(
      quick
        ? { cycles: 400, concurrency: 8, callsEach: 2 }
        : { cycles: 40_000, concurrency: 32, callsEach: 3 },
    );
    check("soak", "no cycle failed", r.failures === 0);
    check(
      "soak",
      "sessions and in-flight back to 0",
      r.sessionsAfter === 0 && r.inFlightAfter === 0,
    );
    check("soak", "heap back within 8 MB of its baseline", r.heapGrowthMB < 8);
    check(
      "soak",
      "RSS flat over the second half (under 16 MB growth)",
      r.rssMB[4]! - r.rssMB[2]! < 16,
    );
    return { ...r };
  },
};

const selected = names.length > 0 ? names : Object.keys(scenarios);
const unknown = selected.filter((n) => !(n in scenarios));
if (unknown.length > 0) {
  console.error(
    `stress: unknown scenario ${unknown.join(", ")}; known: ${Object.keys(scenarios).join(", ")}`,
  );
  Deno.exit(2);
}

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  deno: Deno.version.deno,
  os: `${Deno.build.os} ${Deno.build.arch}`,
  cpus: navigator.hardwareConcurrency,
  form: quick ? "quick" : "long",
};
for (const name of selected) {
  console.log(`\n=== ${name}${quick ? " (quick)" : ""}`);
  const start = performance.now();
  try {
    const r = await scenarios[name]!();
    const seconds = Math.round((performance.now() - start) / 100) / 10;
    results[name] = { seconds, ...r };
    console.log(
      JSON.stringify({ seconds, ...r }, (_k, v) => typeof v === "bigint" ? String(v) : v),
    );
  } catch (error) {
    failures.push(`${name}: threw ${error instanceof Error ? error.stack : String(error)}`);
    console.log(`  FAIL threw: ${error}`);
  }
}
clearTimeout(watchdog);
if (jsonPath) await Deno.writeTextFile(jsonPath, JSON.stringify(results, null, 2) + "\n");
console.log(
  `\n${
    failures.length === 0
      ? "stress: all checks passed"
      : `stress: ${failures.length} check(s) failed:\n${failures.join("\n")}`
  }`,
);
Deno.exit(failures.length === 0 ? 0 : 1);
