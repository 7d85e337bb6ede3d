/**
 * The Supabase Edge Function's server and handler, apart from `index.ts` so
 * tests can import them without starting a server.
 *
 * Supabase routes `https://<project>.supabase.co/functions/v1/wsrpc` to the
 * function, so the handler upgrades every path. Browsers cannot send an
 * `Authorization` header on a WebSocket, so deploy with `--no-verify-jwt` and
 * authenticate in-band (set `WSRPC_SECRET_KEY`, see `../_demo_server.ts`).
 * Supabase ends every function invocation after its wall-clock limit, so
 * clients should connect with `reconnect: true`.
 */
import { createHandler } from "../../../lib/deno.ts";
import { demoServer, describeEndpoint } from "../_demo_server.ts";

/** The wsrpc server. */
export const server = demoServer();

/** The fetch-style handler: WebSocket upgrades on any path, a text answer otherwise. */
export const handler = createHandler(server, { fallback: describeEndpoint });
