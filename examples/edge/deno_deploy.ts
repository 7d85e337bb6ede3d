/**
 * Deno Deploy: `Deno.serve` with the Deno adapter's fetch-style handler.
 *
 * Deploy with `deployctl deploy --entrypoint=examples/edge/deno_deploy.ts`
 * (or link the repository in the Deno Deploy dashboard); run locally with
 * `deno run -A examples/edge/deno_deploy.ts`. Clients connect to
 * `wss://<project>.deno.dev/v1/ws`; other paths and plain HTTP get a short
 * text answer.
 *
 * The module exports its `server` and `handler` and only serves when run as
 * the entry point, so tests can import it.
 */
import { createHandler } from "../../lib/deno.ts";
import { demoServer, describeEndpoint } from "./_demo_server.ts";

/** The wsrpc server (call `server.shutdown()` to stop it gracefully). */
export const server = demoServer();

/** The fetch-style handler: `(request, info?) => Response`. */
export const handler = createHandler(server, { path: "/v1/ws", fallback: describeEndpoint });

if (import.meta.main) {
  Deno.serve(handler);
}
