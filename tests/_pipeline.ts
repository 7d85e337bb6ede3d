/**
 * Pipelined calls from one `Conn`: `calls` `demo-ping-request` made at once,
 * each checked for its own answer. Shared by `tests/reliability_test.ts`
 * (Deno client) and run as a script by Bun for a Bun client:
 * `bun tests/_pipeline.ts URL CALLS` prints the result as one JSON line.
 */
import { Conn } from "../lib/conn.ts";
import { demoAPI } from "../lib/demo.ts";

/** What a run of pipelined calls gave. */
export interface PipelineResult {
  calls: number;
  ok: number;
  failed: number;
  firstError: string;
  ms: number;
}

/** Makes `calls` ping calls at once on one connection to `url` and waits for all. */
export async function pipelineCalls(url: string, calls: number): Promise<PipelineResult> {
  const conn = new Conn(url, { api: demoAPI, callTimeoutMs: 0 });
  await conn.connect();
  const start = performance.now();
  let ok = 0;
  let failed = 0;
  let firstError = "";
  const settled: Promise<void>[] = new Array(calls);
  for (let i = 0; i < calls; i++) {
    // Pipelined, but not in one synchronous run of many seconds: the socket
    // (and the runtime's own pings) must get a turn now and then.
    if (i % 10_000 === 0 && i > 0) await new Promise((resolve) => setTimeout(resolve, 0));
    settled[i] = conn.call("demo-ping-request", { timestamp: i }).then(
      (pong) => {
        if (pong.origintimestamp === i) ok++;
        else failed++;
      },
      (error) => {
        failed++;
        firstError ||= String(error);
      },
    );
  }
  await Promise.all(settled);
  const ms = Math.round(performance.now() - start);
  await conn.close();
  return { calls, ok, failed, firstError, ms };
}

if (import.meta.main) {
  const [url, calls] = (globalThis as unknown as { process: { argv: string[] } }).process.argv
    .slice(2);
  console.log(JSON.stringify(await pipelineCalls(url!, Number(calls))));
}
