/**
 * The stress server as its own process: serves the stress API (the demo
 * commands plus `stress-push-request`) on 127.0.0.1 and prints
 * `listening <url>` once ready. `GET /stats` answers the server's figures as
 * JSON (after a GC when started with `--v8-flags=--expose-gc`).
 *
 * Flags (all optional): `--port N` (default 0), `--secret HEX` (serve with the
 * ed25519 authenticator and this server key), `--max-in-flight N`,
 * `--max-connections N`, `--handshake-timeout-ms N`, `--log-requests` (print
 * `R <session> <id> <command>` for every request received).
 *
 * @module
 */

import { Server, type ServerOptions } from "../mod.ts";
import { createHandler } from "../lib/deno.ts";
import { ed25519Server } from "../lib/ed25519_authenticator.ts";
import type { API } from "../lib/api.ts";
import {
  gc,
  newCounters,
  prototypeSnapshot,
  stressAPI,
  type StressDefinition,
  stressHandlers,
} from "./_util.ts";

function flag(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}
function numberFlag(name: string): number | undefined {
  const v = flag(name);
  return v === undefined ? undefined : Number(v);
}

const counters = newCounters();
const logRequests = Deno.args.includes("--log-requests");
const secret = flag("--secret");
const options: ServerOptions<API<StressDefinition>> = {
  handlers: stressHandlers(
    counters,
    logRequests
      ? (command, id, session) => console.log(`R ${session} ${id} ${command}`)
      : undefined,
  ),
  onError: () => {},
};
const maxInFlight = numberFlag("--max-in-flight");
if (maxInFlight !== undefined) options.maxInFlight = maxInFlight;
const maxConnections = numberFlag("--max-connections");
if (maxConnections !== undefined) options.maxConnections = maxConnections;
const handshakeTimeoutMs = numberFlag("--handshake-timeout-ms");
if (handshakeTimeoutMs !== undefined) options.handshakeTimeoutMs = handshakeTimeoutMs;
if (secret !== undefined) options.authenticator = ed25519Server({ secretKey: secret });

const closedByCode: Record<string, number> = {};
options.onSessionClose = (_session, { code }) => {
  closedByCode[code] = (closedByCode[code] ?? 0) + 1;
};
const server = new Server(stressAPI, options);
const protoBefore = prototypeSnapshot();

const http = Deno.serve(
  { hostname: "127.0.0.1", port: numberFlag("--port") ?? 0, onListen: () => {} },
  createHandler(server, {
    path: "/v1/ws",
    fallback: (request) => {
      if (new URL(request.url).pathname !== "/stats") {
        return new Response("Not found\n", { status: 404 });
      }
      gc();
      const mem = Deno.memoryUsage();
      let inFlight = 0;
      for (const s of server.sessions.values()) inFlight += s.inFlight;
      return Response.json({
        sessions: server.sessions.size,
        inFlight,
        rss: mem.rss,
        heapUsed: mem.heapUsed,
        received: counters.received,
        aborted: counters.aborted,
        running: counters.running,
        closedByCode,
        prototypeClean: prototypeSnapshot() === protoBefore,
      });
    },
  }),
);
console.log(`listening ws://127.0.0.1:${http.addr.port}/v1/ws`);

Deno.addSignalListener("SIGTERM", async () => {
  await server.shutdown({ graceMs: 0 });
  await http.shutdown();
  Deno.exit(0);
});
