/** ed25519 keys from the command line: a secret key file, public keys in hex or in a file. */

import { decodeKey } from "../ed25519_keys.ts";
import { usage } from "./_errors.ts";
import type { CliIO } from "./_io.ts";
import { readFile } from "./_payload.ts";

const HEX_KEY = /^[0-9a-fA-F]{64}$/;

/** Reads a secret key file (hex); warns on stderr when others may read it. */
export async function readSecretKey(path: string, command: string, io: CliIO): Promise<Uint8Array> {
  const text = (await readFile(path, "key file", command)).trim();
  let key: Uint8Array;
  try {
    key = decodeKey(text);
  } catch (error) {
    throw usage(`invalid key file "${path}": ${(error as Error).message}`, command);
  }
  if (Deno.build.os !== "windows") {
    const mode = (await Deno.stat(path)).mode ?? 0;
    if ((mode & 0o077) !== 0) {
      io.printError(
        `wsrpc: key file "${path}" is readable by others (mode ${(mode & 0o777).toString(8)})`,
      );
    }
  }
  return key;
}

/** Public keys from hex, or from a file holding one key per line (# comments allowed). */
export async function readPublicKeys(
  arg: string,
  flag: string,
  command: string,
): Promise<string[]> {
  if (HEX_KEY.test(arg)) return [arg.toLowerCase()];
  const text = await readFile(arg, `--${flag} file`, command);
  const keys = text.split("\n").map((line) => line.replace(/#.*/, "").trim()).filter(Boolean);
  for (const key of keys) {
    if (!HEX_KEY.test(key)) {
      throw usage(
        `invalid --${flag} file "${arg}": ${
          JSON.stringify(key.slice(0, 80))
        } is not a 64-digit hex key`,
        command,
      );
    }
  }
  if (keys.length === 0) throw usage(`invalid --${flag} file "${arg}": no key in it`, command);
  return keys.map((k) => k.toLowerCase());
}
