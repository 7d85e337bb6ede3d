/**
 * The demo API served by Deno, for the cross-runtime tests: the same command
 * line and output as `examples/bun/server.ts`.
 *
 * `deno run -A tests/interop/deno_server.ts --port 0 [--secret-key <hex>] [--allow <hex>]...`
 * prints the URL as its first line, then `open <session> <client key or
 * "anonymous">` per session; stops on SIGINT or SIGTERM.
 */
import { parseArgs } from "node:util";
import { Server } from "../../mod.ts";
import { createHandler } from "../../lib/deno.ts";
import { demoAPI, demoHandlers } from "../../lib/demo.ts";
import { ed25519Server } from "../../lib/ed25519_authenticator.ts";

const { values } = parseArgs({
  args: Deno.args,
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
      message: "wsrpc deno server",
      ...(values.allow === undefined ? {} : { allow: values.allow }),
    }),
  }),
  onSessionOpen: (session) =>
    console.log(`open ${session.id} ${session.peer?.publicKey ?? "anonymous"}`),
});

const http = Deno.serve(
  { hostname: values.host, port: Number(values.port), onListen: () => {} },
  createHandler(server, { path: values.path }),
);
console.log(`ws://${values.host}:${http.addr.port}${values.path}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.shutdown({ graceMs: 1_000 });
  await http.shutdown();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
