/**
 * One wsrpc instance of the fan-out benchmark (`deno task bench:topics`):
 * `deno run -A --v8-flags=--expose-gc bench/_topics_server.ts` with
 * `BUS=memory|redis|nats` and `BUS_URL`. Listens on 127.0.0.1:0, prints
 * `READY <port>`; `GET /stats` (`?gc=1` collects first) answers with its CPU
 * time, memory and sessions, as bench/_server_deno.ts does.
 *
 * @module
 */
import { Server } from "../mod.ts";
import { statsResponse } from "./_stats.ts";
import { createHandler } from "../lib/deno.ts";
import { MemoryBus } from "../lib/topics.ts";
import { topicsAPI } from "./_topics_api.ts";

interface ClientBus {
  bus: import("../lib/topics.ts").Bus;
  close(): Promise<void>;
}
interface Clients {
  nodeRedisBus(url: string): Promise<ClientBus>;
  natsBus(url: string): Promise<ClientBus>;
}

const kind = Deno.env.get("BUS") ?? "memory";
const url = Deno.env.get("BUS_URL") ?? "";

async function openBus(): Promise<ClientBus> {
  if (kind === "memory") {
    const bus = new MemoryBus();
    return { bus, close: () => bus.close() };
  }
  // The dev-only npm clients of examples/cluster, loaded at run time (see tests/_brokers.ts).
  const specifier = new URL("../examples/cluster/clients.ts", import.meta.url).href;
  const clients = await import(specifier) as Clients;
  return kind === "redis" ? await clients.nodeRedisBus(url) : await clients.natsBus(url);
}

const bus = await openBus();
const server: Server<typeof topicsAPI> = new Server(topicsAPI, {
  bus: bus.bus,
  maxConnections: 100_000,
  handlers: {
    "bench-ping-request": ({ timestamp }) => ({
      origintimestamp: timestamp,
      timestamp: Math.floor(Date.now() / 1000),
    }),
    "bench-watch-request": async ({ topic }, { session }) => {
      await session.subscribe(topic);
      return null;
    },
    "bench-publish-request": async ({ topic, t, n, data }) => {
      await server.publish(topic, "bench-event-notification", { t, n, data });
      return null;
    },
  },
});
const handle = createHandler(server);

const http = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  (request, info) => {
    const url = new URL(request.url);
    if (url.pathname === "/stats") return statsResponse(url, server.sessions.size);
    return handle(request, info);
  },
);
console.log(`READY ${http.addr.port}`);
