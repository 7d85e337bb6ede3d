/**
 * `export default { fetch }`: the module shape that `deno serve` and Deno
 * Deploy run without any `Deno.serve` call.
 *
 * Run with `deno serve -A examples/edge/fetch_default_export.ts` (add
 * `--port 8000 --host 0.0.0.0` as needed). Clients connect to `/v1/ws`.
 *
 * Cloudflare Workers also take `export default { fetch }`, but they upgrade
 * with `WebSocketPair`, not `Deno.upgradeWebSocket`: this handler does not
 * run there (see the README).
 */
import { createHandler } from "../../lib/deno.ts";
import { demoServer, describeEndpoint } from "./_demo_server.ts";

/** The wsrpc server (call `server.shutdown()` to stop it gracefully). */
export const server = demoServer();

export default {
  fetch: createHandler(server, { path: "/v1/ws", fallback: describeEndpoint }),
} satisfies Deno.ServeDefaultExport;
