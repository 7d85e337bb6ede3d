/** `wsrpc call URL COMMAND [PAYLOAD]`: send one request, print the response payload. */

import { CliError, EXIT_CODES_HELP, ExitCode, usage } from "./_errors.ts";
import { callError, connect, CONNECTION_FLAGS } from "./_connect.ts";
import { flagHelp, type FlagValues, positionalCount } from "./_flags.ts";
import type { CliIO } from "./_io.ts";
import { command, type Run } from "./_command.ts";
import { errorText, formatJSON, isPretty, OUTPUT_FLAGS } from "./_output.ts";
import { readPayload } from "./_payload.ts";
import { checkSchema } from "./_json_schema.ts";
import type { Description } from "../_describe.ts";

const FLAGS = { ...OUTPUT_FLAGS, ...CONNECTION_FLAGS } as const;

/** `wsrpc call --help`. */
export const HELP = `wsrpc call: send one request and print the response payload

Usage: wsrpc call URL COMMAND [PAYLOAD] [flags]

Connects (reading the server's first message, as the protocol requires), sends
COMMAND with PAYLOAD, and prints the response payload as JSON: indented on a
terminal, one line when piped. A response whose payload carries "error" prints
the payload, then the error's text on stderr, and exits 1.

PAYLOAD is JSON text (default {}, as Go clients send for a request without
parameters: Go servers in the tbcd style crash on a null request), @FILE to read
it from a file, or - for stdin; put a payload that starts with "-" (a negative
number) after --. Integers beyond 2^53 keep every digit, both ways. When the
server describes itself (the describe extension, as "wsrpc serve" does), the
payload is checked against the command's JSON Schema first: a mismatch names
the field and exits 2 without sending.

Examples:
  wsrpc call ws://127.0.0.1:8080/v1/ws demo-ping-request '{"timestamp":1}'
  wsrpc call ws://127.0.0.1:8080/v1/ws demo-echo-request @payload.json
  echo '{"n":18446744073709551615}' | wsrpc call ws://127.0.0.1:8080/v1/ws demo-echo-request -

Output flags:
${flagHelp(OUTPUT_FLAGS)}

Connection flags:
${flagHelp(CONNECTION_FLAGS)}

${EXIT_CODES_HELP}`;

/** Runs `wsrpc call ARGS...`; returns the exit code. */
export const run: Run = command("call", FLAGS, HELP, call);

async function call(
  flags: FlagValues<typeof FLAGS>,
  positionals: string[],
  io: CliIO,
): Promise<number> {
  positionalCount("call", positionals, 2, 3, "URL COMMAND [PAYLOAD]");
  const [url, command, payloadArg] = positionals as [string, string, string | undefined];
  if (command === "") throw usage("COMMAND is empty", "call");
  const payload = await readPayload(payloadArg, "call", io);
  const pretty = isPretty(flags, io);
  const { conn } = await connect("call", url, flags, io);
  try {
    await checkPayload(conn, command, payload);
    let response: unknown;
    try {
      response = await conn.call(command, payload);
    } catch (error) {
      throw callError(command, error);
    }
    io.print(formatJSON(response, pretty));
    const text = errorText(response);
    if (text !== undefined) throw new CliError(text, ExitCode.Failed);
    return ExitCode.OK;
  } finally {
    await conn.close();
  }
}

/**
 * Checks the payload against the schema the server describes for `command`,
 * before sending; skipped when the server does not describe (a Go server) or
 * has no JSON Schema for it.
 */
async function checkPayload(
  conn: { extensions: readonly string[]; describe(command: string): Promise<Description> },
  command: string,
  payload: unknown,
): Promise<void> {
  if (!conn.extensions.includes("describe")) return;
  const schema = await conn.describe(command).then((d) => d.commands[0]?.schema, () => undefined);
  if (schema === null || typeof schema !== "object") return;
  const mismatch = checkSchema(payload, schema);
  if (mismatch !== undefined) {
    throw new CliError(
      `invalid payload for ${JSON.stringify(command)}: ${mismatch.path} ${mismatch.message}`,
      ExitCode.Usage,
    );
  }
}
