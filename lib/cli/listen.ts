/** `wsrpc listen URL [COMMAND [PAYLOAD]]`: print the messages the server pushes. */

import { CloseCode, ConnectionClosedError } from "../errors.ts";
import { CliError, EXIT_CODES_HELP, ExitCode } from "./_errors.ts";
import { callError, connect, CONNECTION_FLAGS } from "./_connect.ts";
import { flagHelp, type FlagValues, parseCount, positionalCount } from "./_flags.ts";
import type { CliIO } from "./_io.ts";
import { command, type Run } from "./_command.ts";
import { closeStatus, errorText, formatJSON } from "./_output.ts";
import { readPayload } from "./_payload.ts";

const LISTEN_FLAGS = {
  count: { type: "string", short: "n", value: "N", help: "stop after N messages" },
} as const;

const FLAGS = { ...LISTEN_FLAGS, ...CONNECTION_FLAGS } as const;

/** `wsrpc listen --help`. */
export const HELP = `wsrpc listen: print the messages the server pushes, one JSON line each

Usage: wsrpc listen URL [COMMAND [PAYLOAD]] [flags]

Connects and prints every push (a message with no id, or one that answers no
request of ours) as one line of JSON, the whole message as it came. With
COMMAND, first sends that request (a subscription, say; PAYLOAD as for call,
default {}) and fails if its response carries an error. Without --count it runs until the server closes the
connection (exit 0 for a normal close) or you interrupt it.

Examples:
  wsrpc listen ws://127.0.0.1:8080/v1/ws demo-notify-request '{"count":3}' --count 3
  wsrpc listen wss://example.net/v1/ws | jq .payload

Flags:
${flagHelp(LISTEN_FLAGS)}

Connection flags:
${flagHelp(CONNECTION_FLAGS)}

${EXIT_CODES_HELP}`;

/** Runs `wsrpc listen ARGS...`; returns the exit code. */
export const run: Run = command("listen", FLAGS, HELP, listen);

async function listen(
  flags: FlagValues<typeof FLAGS>,
  positionals: string[],
  io: CliIO,
): Promise<number> {
  positionalCount("listen", positionals, 1, 3, "URL [COMMAND [PAYLOAD]]");
  const [url, command, payloadArg] = positionals as [string, string?, string?];
  const count = parseCount(flags.count, "count", "listen");
  const payload = command === undefined ? undefined : await readPayload(payloadArg, "listen", io);
  const { conn } = await connect("listen", url, flags, io);
  try {
    if (command !== undefined) {
      let response: unknown;
      try {
        response = await conn.call(command, payload);
      } catch (error) {
        throw callError(command, error);
      }
      const text = errorText(response);
      if (text !== undefined) throw new CliError(text, ExitCode.Failed);
    }
    let received = 0;
    while (count === undefined || received < count) {
      let message: unknown;
      try {
        message = await conn.readJSON();
      } catch (error) {
        if (!(error instanceof ConnectionClosedError)) throw error;
        const normal = error.code === CloseCode.Normal || error.code === CloseCode.GoingAway;
        if (count === undefined && normal) return ExitCode.OK;
        throw new CliError(
          `connection closed after ${received} message${received === 1 ? "" : "s"}: ${
            closeStatus(error.code, error.reason)
          }`,
          ExitCode.Failed,
        );
      }
      io.print(formatJSON(message, false));
      received++;
    }
    return ExitCode.OK;
  } finally {
    await conn.close();
  }
}
