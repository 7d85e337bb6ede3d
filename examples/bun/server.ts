/**
 * The demo API served by Bun: `bun examples/bun/server.ts [--port 8080]`.
 *
 * Prints the server's URL as its first line, then one line per session
 * (`open <session> <client key or "anonymous">`). With `--secret-key <hex>`
 * the server runs the ed25519 handshake with that key (and `--allow <hex>`,
 * repeatable, limits which client keys may connect). Stops on SIGINT or
 * SIGTERM: sessions are closed with 1001, then Bun stops.
 *
 * It type-checks under Deno too: `Bun` is described by a local declaration.
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { Server } from "../../mod.ts";
import { type BunHandler, createHandler } from "../../lib/bun.ts";
import { demoAPI, demoHandlers } from "../../lib/demo.ts";
import { ed25519Server } from "../../lib/ed25519_authenticator.ts";

/** The part of Bun's global this example uses. */
declare const Bun: {
  serve(options: BunHandler & { hostname: string; port: number }): {
    port: number;
    stop(closeActiveConnections?: boolean): void;
  };
};

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "8080" },
    path: { type: "string", default: "/v1/ws" },
    "secret-key": { type: "string" },
    allow: { type: "string", multiple: true },
  },
});

const secretKey = values["secret-key"];
const server = new Server(demoAPI, {
  handlers: demoHandlers,
  ...(secretKey === undefined ? {} : {
    authenticator: ed25519Server({
      secretKey,
      message: "wsrpc bun example",
      ...(values.allow === undefined ? {} : { allow: values.allow }),
    }),
  }),
  onSessionOpen: (session) =>
    console.log(`open ${session.id} ${session.peer?.publicKey ?? "anonymous"}`),
});

const bun = Bun.serve({
  hostname: values.host,
  port: Number(values.port),
  ...createHandler(server, { path: values.path }),
});
console.log(`ws://${values.host}:${bun.port}${values.path}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.shutdown({ graceMs: 1_000 });
  bun.stop(true);
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
