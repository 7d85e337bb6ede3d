/** `wsrpc keygen`: make an ed25519 key pair for authentication. */

import { generateKeyPair } from "../ed25519_keys.ts";
import { CliError, ExitCode } from "./_errors.ts";
import { flagHelp, type FlagValues, HELP_FLAG, positionalCount } from "./_flags.ts";
import type { CliIO } from "./_io.ts";
import { command, type Run } from "./_command.ts";

const FLAGS = {
  out: {
    type: "string",
    short: "o",
    value: "FILE",
    help: "where to write the secret key (default wsrpc.key)",
  },
  force: { type: "boolean", short: "f", help: "overwrite existing files" },
  help: HELP_FLAG,
} as const;

/** `wsrpc keygen --help`. */
export const HELP = `wsrpc keygen: make an ed25519 key pair

Usage: wsrpc keygen [flags]

Writes the secret key (32-byte seed, hex) to FILE with mode 0600 and the public
key to FILE.pub, and prints the public key. Give FILE to --key, and FILE.pub
(or the printed key) to --server-key or --allow.

Example:
  wsrpc keygen --out client.key

Flags:
${flagHelp(FLAGS)}

Exit codes: 0 success, 1 cannot write the files (or they exist), 2 usage error.`;

/** Runs `wsrpc keygen ARGS...`; returns the exit code. */
export const run: Run = command("keygen", FLAGS, HELP, keygen);

async function keygen(
  flags: FlagValues<typeof FLAGS>,
  positionals: string[],
  io: CliIO,
): Promise<number> {
  positionalCount("keygen", positionals, 0, 0, "no arguments");
  const out = flags.out ?? "wsrpc.key";
  const { secretKey, publicKey } = await generateKeyPair();
  const publicHex = publicKey.toHex();
  try {
    await Deno.writeTextFile(out, `${secretKey.toHex()}\n`, {
      mode: 0o600,
      createNew: !flags.force,
    });
    if (Deno.build.os !== "windows") await Deno.chmod(out, 0o600);
    await Deno.writeTextFile(`${out}.pub`, `${publicHex}\n`, {
      mode: 0o644,
      createNew: !flags.force,
    });
  } catch (error) {
    const exists = error instanceof Deno.errors.AlreadyExists;
    throw new CliError(
      `Cannot write the key: ${(error as Error).message}${
        exists ? " (use --force to overwrite)" : ""
      }`,
      ExitCode.Failed,
    );
  } finally {
    secretKey.fill(0);
  }
  io.print(publicHex);
  io.printError(`wrote the secret key to ${out} (mode 0600) and the public key to ${out}.pub`);
  return ExitCode.OK;
}
