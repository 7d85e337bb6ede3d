/** `wsrpc COMMAND ...`: the dispatch to the commands, the main help, `--version`. */

import denoConfig from "../../deno.json" with { type: "json" };
import * as call from "./call.ts";
import * as describe from "./describe.ts";
import * as keygen from "./keygen.ts";
import * as listen from "./listen.ts";
import * as ping from "./ping.ts";
import * as serve from "./serve.ts";
import { EXIT_CODES_HELP, ExitCode, exitCodeOf, usage } from "./_errors.ts";
import type { CliIO } from "./_io.ts";

/** `wsrpc --help`. */
export const HELP = `wsrpc ${denoConfig.version}: a command line for wsrpc (WebSocket RPC) servers

Every WebSocket text frame is one JSON message {"header":{"command","id"},"payload"};
the server sends a ping first; responses carry their request's id; pushes have none.

Usage:
  wsrpc call URL COMMAND [PAYLOAD]       send one request, print the response payload
  wsrpc describe URL [COMMAND]           list a server's commands, or describe one
  wsrpc listen URL [COMMAND [PAYLOAD]]   print the messages the server pushes
  wsrpc ping URL                         measure round-trip times, like ping(8)
  wsrpc serve                            run the demo server (API prefix "demo")
  wsrpc keygen                           make an ed25519 key pair for authentication
  wsrpc help [COMMAND]                   show a command's help

Flags: wsrpc COMMAND --help; wsrpc --version.

Example:
  wsrpc serve --port 8080 &
  wsrpc call ws://127.0.0.1:8080/v1/ws demo-echo-request '{"hello":"world"}'

${EXIT_CODES_HELP}`;

/** Each command: its `run(args, io)` and its help. */
const COMMANDS: Record<
  string,
  { run(args: string[], io: CliIO): Promise<number>; HELP: string }
> = { call, describe, listen, ping, serve, keygen };

/** Runs `wsrpc ARGS...` against `io`; returns the exit code. */
export function main(args: string[], io: CliIO): Promise<number> {
  const [command, ...rest] = args;
  return exitCodeOf(io, () => {
    if (command === undefined) {
      io.printError(HELP);
      return Promise.resolve(ExitCode.Usage);
    }
    if (command === "--help" || command === "-h") return help(HELP, io);
    if (command === "--version" || command === "-V") {
      io.print(`wsrpc ${denoConfig.version}`);
      return Promise.resolve(ExitCode.OK);
    }
    if (command === "help") {
      const topic = rest[0];
      if (topic === undefined || topic === "main") return help(HELP, io);
      if (!Object.hasOwn(COMMANDS, topic)) throw usage(`unknown command ${JSON.stringify(topic)}`);
      return help(COMMANDS[topic]!.HELP, io);
    }
    if (!Object.hasOwn(COMMANDS, command)) {
      throw usage(`unknown command ${JSON.stringify(command)}`);
    }
    return COMMANDS[command]!.run(rest, io);
  });
}

function help(text: string, io: CliIO): Promise<number> {
  io.print(text);
  return Promise.resolve(ExitCode.OK);
}
