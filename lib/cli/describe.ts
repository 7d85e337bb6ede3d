/** `wsrpc describe URL [COMMAND]`: what a server speaks (the `describe` extension). */

import { CliError, EXIT_CODES_HELP, ExitCode } from "./_errors.ts";
import { callError, connect, CONNECTION_FLAGS } from "./_connect.ts";
import { flagHelp, type FlagValues, positionalCount } from "./_flags.ts";
import type { CliIO } from "./_io.ts";
import { command, type Run } from "./_command.ts";
import { formatJSON, isPretty, OUTPUT_FLAGS } from "./_output.ts";

const FLAGS = { ...OUTPUT_FLAGS, ...CONNECTION_FLAGS } as const;

/** `wsrpc describe --help`. */
export const HELP = `wsrpc describe: list a server's commands, or describe one

Usage: wsrpc describe URL [COMMAND] [flags]

Asks a wsrpc server that offers the describe extension (as "wsrpc serve" does)
what it speaks, as grpcurl list/describe do for gRPC. Without COMMAND, prints
one command a line: its name, its kind (request, response, notification) and,
for a request, the command that answers it. With COMMAND, prints its
description as JSON, with the payload's JSON Schema where the server has one
("unchecked" when the payload is not validated). A server that does not offer
describe (a Go server, say) is an error.

Examples:
  wsrpc describe ws://127.0.0.1:8080/v1/ws
  wsrpc describe ws://127.0.0.1:8080/v1/ws demo-echo-request

Output flags:
${flagHelp(OUTPUT_FLAGS)}

Connection flags:
${flagHelp(CONNECTION_FLAGS)}

${EXIT_CODES_HELP}`;

/** Runs `wsrpc describe ARGS...`; returns the exit code. */
export const run: Run = command("describe", FLAGS, HELP, describe);

async function describe(
  flags: FlagValues<typeof FLAGS>,
  positionals: string[],
  io: CliIO,
): Promise<number> {
  positionalCount("describe", positionals, 1, 2, "URL [COMMAND]");
  const [url, command] = positionals as [string, string | undefined];
  const pretty = isPretty(flags, io);
  const { conn } = await connect("describe", url, flags, io);
  try {
    if (!conn.extensions.includes("describe")) {
      throw new CliError(
        "describe failed: the server does not offer the describe extension",
        ExitCode.Failed,
      );
    }
    let commands;
    try {
      ({ commands } = await conn.describe(command));
    } catch (error) {
      throw callError("describe", error);
    }
    if (command !== undefined) {
      io.print(formatJSON(commands[0], pretty));
      return ExitCode.OK;
    }
    const width = Math.max(...commands.map((c) => c.command.length));
    for (const c of commands) {
      const answer = c.response === undefined ? "" : ` -> ${c.response}`;
      io.print(`${c.command.padEnd(width)}  ${c.kind}${answer}`);
    }
    return ExitCode.OK;
  } finally {
    await conn.close();
  }
}
