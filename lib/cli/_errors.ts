/** Exit codes, the error that carries one, and how a command's failure reaches the user. */

import { safeText } from "../_safe_text.ts";
import type { CliIO } from "./_io.ts";

/** The exit codes of every command (see {@linkcode EXIT_CODES_HELP}). */
export const ExitCode = {
  OK: 0,
  Failed: 1,
  Usage: 2,
  Connect: 3,
  Handshake: 4,
} as const;

/** The exit codes as the help of the connecting commands lists them. */
export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  the response carried an error, or the call failed (timeout, connection lost)
  2  usage error: unknown flag, bad URL, invalid JSON payload, unreadable file
  3  cannot connect: connection refused, DNS failure, HTTP error, connect timeout
  4  handshake failed: key mismatch, key refused, server not speaking ed25519`;

/** An error that ends the command with a message on stderr and an exit code. */
export class CliError extends Error {
  readonly exitCode: number;
  /** The command whose `--help` a usage error points to. */
  readonly command: string | undefined;
  constructor(message: string, exitCode: number, command?: string) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
    this.command = command;
  }
}

/** A usage error (exit 2) of `command`. */
export function usage(message: string, command?: string): CliError {
  return new CliError(message, ExitCode.Usage, command);
}

/** Runs `body`, turning what it throws into one line on stderr and an exit code. */
export async function exitCodeOf(io: CliIO, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    // The reader of our output went away (`wsrpc listen ... | head -1`): done.
    if (error instanceof Deno.errors.BrokenPipe) return ExitCode.OK;
    if (error instanceof CliError) {
      const hint = error.exitCode === ExitCode.Usage
        ? ` (see "wsrpc ${error.command ?? ""}${error.command ? " " : ""}--help")`
        : "";
      io.printError(`wsrpc: ${error.message}${hint}`);
      return error.exitCode;
    }
    io.printError(`wsrpc: ${safeText(String((error as Error)?.message ?? error))}`);
    return ExitCode.Failed;
  }
}
