/**
 * `GET /stats` of the benchmark servers (`_server_deno.ts`, `_server_bun.ts`,
 * `_topics_server.ts`): `processStats` of _process_stats.mjs (CPU time, in
 * total and per thread group, memory, open sessions); `?gc` collects garbage
 * first (on Deno the server runs with `--v8-flags=--expose-gc`; Bun passes
 * its own collector).
 *
 * @module
 */

import { processStats } from "./_process_stats.mjs";

const v8gc = (globalThis as { gc?: () => void }).gc;

/** V8's collector (exposed by `--expose-gc`), run twice. */
function collectTwice(): void {
  v8gc?.();
  v8gc?.();
}

/** The answer to `GET /stats` (`url` is the request's); `collect` runs for `?gc`. */
export function statsResponse(url: URL, sessions: number, collect = collectTwice): Response {
  if (url.searchParams.has("gc")) collect();
  return Response.json(processStats(sessions));
}
