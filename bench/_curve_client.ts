/**
 * One client process of `deno task bench:curves`, on Deno or Bun:
 * `deno run -A bench/_curve_client.ts '<spec>'` or `bun bench/_curve_client.ts '<spec>'`
 * (spec: `{ impl, auth?, url }`, see `connectorFor`). It reads one command
 * per stdin line and answers each with one JSON line on stdout:
 *
 * - `{"op":"open","n":N,"concurrency":C}`: opens N more connections, C at a time.
 * - `{"op":"load","warmupMs":W,"ms":D}`: every open connection makes ping
 *   calls one after another for W + D ms; the answer counts the calls that
 *   completed in the last D ms and their latencies (a log histogram, see
 *   `bucketOf`).
 * - `{"op":"close"}`: closes every connection and exits.
 *
 * @module
 */

import process from "node:process";
import { createInterface } from "node:readline";
import { type Adapter, connectorFor } from "./_connectors.ts";

/** Histogram buckets: 2% wide on a log scale of microseconds. */
export const BUCKETS_PER_E = 50;

/** The bucket of a latency in microseconds. */
export function bucketOf(us: number): number {
  return Math.round(Math.log(Math.max(us, 1)) * BUCKETS_PER_E);
}

/** The latency (µs) a bucket stands for. */
export function latencyOf(bucket: number): number {
  return Math.exp(bucket / BUCKETS_PER_E);
}

/** The `p` quantile (0..1) of merged histograms. */
export function quantile(hist: Record<string, number>, p: number): number {
  const entries = Object.entries(hist).map(([b, n]) => [Number(b), n] as const)
    .sort((a, b) => a[0] - b[0]);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  let seen = 0;
  for (const [b, n] of entries) {
    seen += n;
    if (seen >= p * total) return latencyOf(b);
  }
  return NaN;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "{}");
  const connect = await connectorFor(spec);
  const conns: Adapter[] = [];
  const reply = (value: unknown) => process.stdout.write(JSON.stringify(value) + "\n");

  async function open(n: number, concurrency: number): Promise<void> {
    const t0 = performance.now();
    let started = 0;
    let errors = 0;
    let firstError: string | undefined;
    const worker = async () => {
      while (started < n) {
        started++;
        try {
          conns.push(await connect(spec.url));
        } catch (error) {
          errors++;
          firstError ??= String((error as Error)?.message ?? error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
    reply({
      open: conns.length,
      errors,
      firstError,
      ms: performance.now() - t0,
    });
  }

  async function load(warmupMs: number, ms: number): Promise<void> {
    const hist: Record<number, number> = {};
    let calls = 0;
    let errors = 0;
    const t0 = performance.now();
    const from = t0 + warmupMs;
    const until = from + ms;
    const loop = async (conn: Adapter) => {
      for (;;) {
        const start = performance.now();
        if (start >= until) return;
        try {
          await conn.ping();
        } catch {
          errors++;
          return;
        }
        const end = performance.now();
        if (start >= from && end <= until) {
          calls++;
          const b = bucketOf((end - start) * 1000);
          hist[b] = (hist[b] ?? 0) + 1;
        }
      }
    };
    await Promise.all(conns.map(loop));
    reply({ calls, errors, hist, ms });
  }

  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === "") continue;
    const command = JSON.parse(line);
    if (command.op === "open") await open(command.n, command.concurrency ?? 32);
    else if (command.op === "load") await load(command.warmupMs, command.ms);
    else if (command.op === "close") {
      await Promise.all(conns.map((c) => c.close().catch(() => {})));
      reply({ closed: conns.length });
      break;
    }
  }
  process.exit(0);
}

if (import.meta.main) await main();
