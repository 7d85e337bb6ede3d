/** The skeleton every command shares: parse its flags, answer `--help`, turn a failure into an exit code. */

import { ExitCode, exitCodeOf } from "./_errors.ts";
import { type Flags, type FlagValues, type HELP_FLAG, parseFlags } from "./_flags.ts";
import type { CliIO } from "./_io.ts";

/** A command's `run(args, io)`: its exit code. */
export type Run = (args: string[], io: CliIO) => Promise<number>;

/**
 * The `run` of command `name`: parses the arguments by `flags`, prints `help`
 * on `--help`, else runs `body`; what it throws becomes one line on stderr
 * and an exit code.
 */
export function command<F extends Flags & { readonly help: typeof HELP_FLAG }>(
  name: string,
  flags: F,
  help: string,
  body: (flags: FlagValues<F>, positionals: string[], io: CliIO) => Promise<number>,
): Run {
  return (args, io) =>
    exitCodeOf(io, async () => {
      const parsed = parseFlags(name, flags, args);
      if (parsed.flags.help) {
        io.print(help);
        return ExitCode.OK;
      }
      return await body(parsed.flags, parsed.positionals, io);
    });
}
