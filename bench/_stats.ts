/**
 * `GET /stats` of the Deno benchmark servers (`_server_deno.ts`,
 * `_topics_server.ts`): the process's CPU time and memory, and its open
 * sessions; `?gc` collects garbage first (the server runs with
 * `--v8-flags=--expose-gc`).
 *
 * @module
 */

import process from "node:process";

const gc = (globalThis as { gc?: () => void }).gc;

/** The answer to `GET /stats` (`url` is the request's). */
export function statsResponse(url: URL, sessions: number): Response {
  if (url.searchParams.has("gc")) {
    gc?.();
    gc?.();
  }
  const cpu = process.cpuUsage();
  const mem = Deno.memoryUsage();
  return Response.json({
    cpuMs: (cpu.user + cpu.system) / 1000,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    sessions,
  });
}
