/**
 * `GET /stats` of the benchmark servers (`_server_deno.ts`, `_server_bun.ts`,
 * `_topics_server.ts`): the process's CPU time and memory, and its open
 * sessions, and CPU time per thread group (`threads`, Linux; see
 * _threads.mjs); `?gc` collects garbage first (on Deno the server runs with
 * `--v8-flags=--expose-gc`; Bun passes its own collector).
 *
 * @module
 */

import process from "node:process";
import { threadCpuMs } from "./_threads.mjs";

const v8gc = (globalThis as { gc?: () => void }).gc;

/** V8's collector (exposed by `--expose-gc`), run twice. */
function collectTwice(): void {
  v8gc?.();
  v8gc?.();
}

/** The answer to `GET /stats` (`url` is the request's); `collect` runs for `?gc`. */
export function statsResponse(url: URL, sessions: number, collect = collectTwice): Response {
  if (url.searchParams.has("gc")) collect();
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return Response.json({
    cpuMs: (cpu.user + cpu.system) / 1000,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    sessions,
    threads: threadCpuMs(),
  });
}
