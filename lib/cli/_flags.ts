/**
 * Flags, declared once next to their help: `node:util`'s `parseArgs` reads
 * the declarations, and {@linkcode flagHelp} prints them. Errors are one clear
 * line with exit code 2; value parsers for durations, sizes, counts, headers.
 */

import { parseArgs } from "node:util";
import { usage } from "./_errors.ts";

/** One flag: how it parses and how the help shows it. */
export interface Flag {
  readonly type: "string" | "boolean";
  readonly short?: string;
  /** Repeatable: the values collect in an array. */
  readonly multiple?: boolean;
  /** The value's name in the help: FILE, TIME. */
  readonly value?: string;
  /** The help text; a line break starts a line in the description column. */
  readonly help: string;
}

/** A command's flags by long name, in help order. */
export type Flags = Readonly<Record<string, Flag>>;

/** The parsed values of `F`: `true` for a boolean given, a list for a repeatable flag. */
export type FlagValues<F extends Flags> = {
  -readonly [K in keyof F]?: F[K] extends { type: "boolean" } ? true
    : F[K] extends { multiple: true } ? string[]
    : string;
};

/** `-h, --help`, which every command has. */
export const HELP_FLAG = { type: "boolean", short: "h", help: "show this help" } as const;

/** Where the help's descriptions start. */
const HELP_COLUMN = 25;

/** The help lines of `flags`: `  -H, --header K:V       add a header ...`. */
export function flagHelp(flags: Flags): string {
  return Object.entries(flags).map(([name, flag]) => {
    const short = flag.short === undefined ? "    " : `-${flag.short}, `;
    const spec = `  ${short}--${name}${flag.value === undefined ? "" : ` ${flag.value}`}`;
    const help = flag.help.replaceAll("\n", `\n${" ".repeat(HELP_COLUMN)}`);
    return `${spec.padEnd(HELP_COLUMN - 2)}  ${help}`;
  }).join("\n");
}

/** Parses `args` by `flags`; a usage error names `command`'s help. */
export function parseFlags<F extends Flags>(
  command: string,
  flags: F,
  args: string[],
): { flags: FlagValues<F>; positionals: string[] } {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [name, { type, short }] of Object.entries(flags)) {
    options[name] = short === undefined ? { type } : { type, short };
  }
  // Not strict: the tokens are checked here, so that each error is one line of our own.
  const { tokens } = parseArgs({
    args,
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, string | string[] | true> = {};
  const positionals: string[] = [];
  let previous: { index: number; name: string } | undefined;
  for (const token of tokens) {
    if (token.kind === "positional") positionals.push(token.value);
    if (token.kind !== "option") continue;
    const { name, rawName, index } = token;
    // A group of short flags (`-vh`) reads as a boolean flag with a value, as it always has.
    if (previous?.index === index) throw usage(`flag "--${previous.name}" takes no value`, command);
    previous = { index, name };
    const flag = Object.hasOwn(flags, name) ? flags[name] : undefined;
    if (flag === undefined) {
      throw usage(`unknown flag "${rawName.startsWith("--") ? `--${name}` : rawName}"`, command);
    }
    if (flag.type === "boolean") {
      if (token.value !== undefined) throw usage(`flag "--${name}" takes no value`, command);
      values[name] = true;
    } else if (token.value === undefined) {
      throw usage(`flag "--${name}" needs a value`, command);
    } else if (flag.multiple) {
      ((values[name] ??= []) as string[]).push(token.value);
    } else {
      values[name] = token.value;
    }
  }
  return { flags: values as FlagValues<F>, positionals };
}

/** Checks the number of positional arguments: from `min` to `max`, described by `names`. */
export function positionalCount(
  command: string,
  positionals: string[],
  min: number,
  max: number,
  names: string,
): void {
  if (positionals.length < min) throw usage(`missing arguments: expected ${names}`, command);
  if (positionals.length > max) {
    throw usage(`unexpected argument ${JSON.stringify(positionals[max])}`, command);
  }
}

/** Parses `500ms`, `10s`, `2m`, or a bare number of seconds, into milliseconds. */
export function parseDuration(text: string, flag: string, command: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw usage(`invalid duration for --${flag}: ${JSON.stringify(text)}`, command);
  const unit = m[2] === "ms" ? 1 : m[2] === "m" ? 60_000 : 1_000;
  const ms = Number(m[1]) * unit;
  if (!(ms > 0) || !Number.isFinite(ms)) {
    throw usage(`invalid duration for --${flag}: ${JSON.stringify(text)}`, command);
  }
  return Math.ceil(ms);
}

/** Parses `512KiB`, `16MiB`, `1000000` (bytes). */
export function parseSize(text: string, flag: string, command: string): number {
  const m = /^(\d+)\s*(b|k|kb|kib|m|mb|mib)?$/i.exec(text.trim());
  if (!m || Number(m[1]) <= 0) {
    throw usage(`invalid size for --${flag}: ${JSON.stringify(text)}`, command);
  }
  const unit = (m[2] ?? "b").toLowerCase()[0];
  return Number(m[1]) * (unit === "k" ? 1024 : unit === "m" ? 1024 * 1024 : 1);
}

/** Parses a positive integer, or `undefined` when the flag is absent. */
export function parseCount(
  text: string | undefined,
  flag: string,
  command: string,
): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw usage(
      `invalid --${flag}: expected a positive integer, got ${JSON.stringify(text)}`,
      command,
    );
  }
  return Number(text);
}

/** Parses `--header NAME:VALUE` entries. */
export function parseHeaders(
  list: string[] | undefined,
  command: string,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const entry of list ?? []) {
    const colon = entry.indexOf(":");
    const name = colon < 0 ? "" : entry.slice(0, colon).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw usage(`invalid --header ${JSON.stringify(entry)}: expected NAME:VALUE`, command);
    }
    headers[name] = entry.slice(colon + 1).trim();
  }
  return headers;
}
