/**
 * One instance of the cluster example, on Deno or Bun:
 * `deno run -A examples/cluster/instance.ts` or `bun examples/cluster/instance.ts`,
 * with `BUS=redis|nats|memory`, `BUS_URL=redis://…|nats://…`, and optionally
 * `PORT` (default 0: any free port), `NAME` and `WRITE_TIMEOUT_MS`.
 * Prints `listening ws://127.0.0.1:PORT/` first; stops on SIGTERM or SIGINT.
 *
 * @module
 */
import process from "node:process";
import { Server } from "../../mod.ts";
import { MemoryBus } from "../../lib/topics.ts";
import { clusterAPI, clusterHandlers } from "./api.ts";
import { bunRedisBus, type ClientBus, natsBus, nodeRedisBus } from "./clients.ts";

declare const Bun: {
  serve(options: object): { port: number; stop(force?: boolean): void };
} | undefined;

const isBun = typeof Bun !== "undefined";
const name = process.env.NAME ?? `${isBun ? "bun" : "deno"}-${process.pid}`;
const kind = process.env.BUS ?? "memory";
const url = process.env.BUS_URL ?? "";

async function openBus(): Promise<ClientBus> {
  if (kind === "redis") {
    return isBun ? await bunRedisBus(url) : await nodeRedisBus(url);
  }
  if (kind === "nats") return await natsBus(url);
  const bus = new MemoryBus();
  return { bus, close: () => bus.close() };
}

const bus = await openBus();
const writeTimeoutMs = Number(process.env.WRITE_TIMEOUT_MS ?? 30_000);
const server: Server<typeof clusterAPI> = new Server(clusterAPI, {
  handlers: clusterHandlers(name, () => server),
  bus: bus.bus,
  extensions: true,
  canResume: () => true, // every topic of this example is public
  writeTimeoutMs,
  writeHighWaterMark: 256 * 1024,
});

let stop: () => Promise<void>;
if (isBun) {
  const { createHandler } = await import("../../lib/bun.ts");
  const bunServer = Bun!.serve({
    hostname: "127.0.0.1",
    port: Number(process.env.PORT ?? 0),
    ...createHandler(server),
  });
  console.log(`listening ws://127.0.0.1:${bunServer.port}/`);
  stop = async () => {
    await server.shutdown({ graceMs: 0 });
    bunServer.stop(true);
  };
} else {
  const { createHandler } = await import("../../lib/deno.ts");
  const listening = Promise.withResolvers<number>();
  const denoServer = Deno.serve({
    hostname: "127.0.0.1",
    port: Number(process.env.PORT ?? 0),
    onListen: ({ port }) => listening.resolve(port),
  }, createHandler(server));
  console.log(`listening ws://127.0.0.1:${await listening.promise}/`);
  stop = async () => {
    await server.shutdown({ graceMs: 0 });
    await denoServer.shutdown();
  };
}

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    await stop();
    await bus.close();
    process.exit(0);
  });
}
