/**
 * `wsrpc`: poke a wsrpc server from the shell, as grpcurl does for gRPC and
 * websocat for WebSocket. Schemaless: any command name, any JSON payload.
 *
 * ```sh
 * deno run -A jsr:@wsrpc/protocol/cli serve --port 8080 &
 * deno run -A jsr:@wsrpc/protocol/cli call ws://127.0.0.1:8080/v1/ws demo-echo-request '{"hi":1}'
 * deno install -g -A -n wsrpc jsr:@wsrpc/protocol/cli
 * ```
 *
 * Commands: `call`, `listen`, `ping`, `serve` (the demo server), `keygen`;
 * `wsrpc --help` lists them, `wsrpc COMMAND --help` their flags. Exit codes:
 * 0 ok, 1 the response carried an error or the call failed, 2 usage error,
 * 3 cannot connect, 4 handshake failed.
 *
 * Built on the package's own modules; it runs on Deno. Each command is one
 * file of this folder (`call.ts`, `listen.ts`, `ping.ts`, `serve.ts`,
 * `keygen.ts`) exporting `run(args, io)`.
 *
 * @module
 */

import { main } from "./_main.ts";
import { denoIO } from "./_io.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args, denoIO()));
}
