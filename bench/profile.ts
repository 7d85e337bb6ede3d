/**
 * `deno task bench:profile`: CPU profiles (`--cpu-prof`) of the Deno server
 * and client for one scenario, wsrpc against the JSON floor, summarized by
 * where the self time goes: wsrpc's own code (lib/), the bench harness, the
 * runtime's JavaScript (Deno's `ext:` modules, WebSocket events), and native
 * time (JSON, GC, I/O: V8 puts builtins such as `JSON.parse` in the self time
 * of the JavaScript function that calls them). Optionally a heap snapshot of
 * the server mid-run (`--heap`, Deno: `--inspect` is not needed, the server
 * writes it itself on `GET /heap`).
 *
 * Flags: `--scenario=pipelined|echo64k|sequential|connect` (default pipelined), `--impls=json,wsrpc`
 * (a server mode; `wsrpc-auth-<auth>` pairs with the wsrpc client using that `auth`),
 * `--top=N` (functions listed per profile, default 15), `--out=DIR`
 * (default bench/out/profiles/), `--heap`.
 *
 * @module
 */

import { topSelf } from "./_profile_top.ts";
import { flag } from "./_harness.ts";

const BENCH = new URL(".", import.meta.url).pathname;
const SCENARIO = flag("scenario") ?? "pipelined";
const IMPLS = (flag("impls") ?? "json,wsrpc").split(",");
const TOP = Number(flag("top") ?? 15);
const OUT = (flag("out") ?? `${BENCH}out/profiles/`).replace(/\/?$/, "/");
const HEAP = Deno.args.includes("--heap");
const DENO = Deno.execPath();

const SPECS: Record<string, Record<string, unknown>> = {
  pipelined: { scenario: "pipelined", n: 100_000, inflight: 256, warmup: 5_000 },
  echo64k: { scenario: "echo", n: 2_000, inflight: 16, size: 65_536, warmup: 100 },
  sequential: { scenario: "sequential", n: 20_000, warmup: 2_000 },
  connect: { scenario: "connect", n: 3_000, concurrency: 8, warmup: 200 },
};

/** Where a profile's self time goes, by kind of code. */
export function categorize(name: string): string {
  if (/ lib\//.test(name)) return "wsrpc (lib/)";
  if (/ bench\//.test(name) || /_json_floor|_scenarios|_connectors|_client|_server/.test(name)) {
    return "bench harness (incl. the JSON floor's code)";
  }
  if (/^\(garbage collector\)/.test(name)) return "GC";
  if (/^\((program|idle)\)/.test(name)) return `native ${name.split(" ")[0]}`;
  if (/ext:|node:/.test(name)) return "runtime JavaScript (ext:, node:)";
  return "other (native builtins, npm)";
}

async function profileOne(impl: string): Promise<void> {
  const dir = `${OUT}${SCENARIO}-${impl}/`;
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  const server = new Deno.Command(DENO, {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      `--cpu-prof`,
      `--cpu-prof-dir=${dir}server`,
      `${BENCH}_server_deno.ts`,
      impl,
    ],
    cwd: BENCH,
    stdout: "piped",
    stderr: "inherit",
    env: HEAP ? { BENCH_HEAP_DIR: dir } : {},
  }).spawn();
  const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let port = 0;
  while (port === 0) {
    const { value, done } = await reader.read();
    if (done) throw new Error("server exited");
    text += value;
    port = Number(text.match(/READY (\d+)/)?.[1] ?? 0);
  }
  // A server mode `wsrpc-auth-<auth>` pairs with the wsrpc client using that `auth`.
  const auth = impl.match(/^wsrpc-auth-(.+)$/)?.[1];
  const spec = {
    ...SPECS[SCENARIO],
    impl: auth === undefined ? impl : "wsrpc",
    ...(auth === undefined ? {} : { auth }),
    url: `ws://127.0.0.1:${port}/`,
    httpBase: `http://127.0.0.1:${port}`,
  };
  const heapTimer = HEAP
    ? setTimeout(() => fetch(`http://127.0.0.1:${port}/heap`).then((r) => r.body?.cancel()), 1500)
    : undefined;
  const client = await new Deno.Command(DENO, {
    args: [
      "run",
      "-A",
      "--cpu-prof",
      `--cpu-prof-dir=${dir}client`,
      `${BENCH}_client.ts`,
      JSON.stringify(spec),
    ],
    cwd: BENCH,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  clearTimeout(heapTimer);
  const result = JSON.parse(new TextDecoder().decode(client.stdout).trim().split("\n").pop()!);
  await fetch(`http://127.0.0.1:${port}/exit`).then((r) => r.text());
  await server.status;
  console.log(
    `\n## ${SCENARIO}, ${impl}: ${
      Math.round(result.value).toLocaleString("en-US")
    } ${result.unit}; ` +
      `CPU µs per call client ${(result.clientCpuMs * 1000 / result.n).toFixed(1)}, server ${
        (result.serverCpuMs * 1000 / result.n).toFixed(1)
      }`,
  );
  for (const side of ["server", "client"]) {
    const files = [...Deno.readDirSync(`${dir}${side}`)].filter((f) =>
      f.name.endsWith(".cpuprofile")
    );
    if (files.length === 0) {
      console.log(`(no ${side} profile)`);
      continue;
    }
    const rows = topSelf(JSON.parse(await Deno.readTextFile(`${dir}${side}/${files[0]!.name}`)));
    const busy = rows.filter((r) => !/^\(idle\)/.test(r.name));
    const busyMs = busy.reduce((s, r) => s + r.ms, 0);
    const byKind = new Map<string, number>();
    for (const r of busy) {
      byKind.set(categorize(r.name), (byKind.get(categorize(r.name)) ?? 0) + r.ms);
    }
    console.log(`\n### ${side}: ${busyMs.toFixed(0)} ms busy; by kind (share of busy time):`);
    for (const [kind, ms] of [...byKind].sort((a, b) => b[1] - a[1])) {
      console.log(`  ${(ms / busyMs * 100).toFixed(1).padStart(5)}%  ${kind}`);
    }
    console.log(`top ${TOP} self time (share of busy time):`);
    for (const r of busy.slice(0, TOP)) {
      console.log(`  ${(r.ms / busyMs * 100).toFixed(1).padStart(5)}%  ${r.name}`);
    }
  }
}

for (const impl of IMPLS) await profileOne(impl);
