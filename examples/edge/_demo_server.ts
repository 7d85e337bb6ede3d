/**
 * The server the edge examples deploy: the demo API (`lib/demo.ts`). Set
 * `WSRPC_SECRET_KEY` (a 32-byte ed25519 seed, hex) in the deployment's
 * secrets to require the ed25519 handshake; clients then pin the matching
 * public key. Browsers connect from other origins (your web app's), so the
 * origin check is relaxed: that is safe only because every client proves a
 * key in-band and nothing relies on cookies. Without a key, list your app's
 * origins in `WSRPC_ORIGINS` (comma-separated) instead.
 *
 * Deployed code imports `jsr:@wsrpc/protocol` instead of the relative paths.
 */
import { Server, type ServerOptions } from "../../mod.ts";
import { demoAPI, demoHandlers } from "../../lib/demo.ts";
import { ed25519Server } from "../../lib/ed25519_authenticator.ts";

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env: run without the setting
  }
}

/** Makes the demo server, configured from the environment. */
export function demoServer(): Server<typeof demoAPI> {
  const secretKey = env("WSRPC_SECRET_KEY");
  const origins = env("WSRPC_ORIGINS")?.split(",").map((o) => o.trim());
  const options: ServerOptions<typeof demoAPI> = { handlers: demoHandlers };
  if (secretKey !== undefined) {
    options.authenticator = ed25519Server({ secretKey, message: "wsrpc edge example" });
    options.insecureSkipOriginCheck = true; // in-band authentication, no cookies
  } else if (origins !== undefined) {
    options.origins = origins;
  }
  return new Server(demoAPI, options);
}

/** What the edge examples answer to plain HTTP requests. */
export function describeEndpoint(request: Request): Response {
  const url = new URL(request.url);
  return new Response(`wsrpc demo: open a WebSocket to ${url.origin}${url.pathname}\n`, {
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}
