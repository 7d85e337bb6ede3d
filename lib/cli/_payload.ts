/**
 * A request's payload from the command line: JSON text, `@FILE` or `-` for
 * stdin; integers beyond 2^53 stay exact. Invalid JSON is a usage error that
 * names the line and column.
 */

import { parseJSON } from "../_json.ts";
import { usage } from "./_errors.ts";
import type { CliIO } from "./_io.ts";

/** The payload `arg` gives: `{}` without one, `-` for stdin, `@FILE`, else JSON text. */
export async function readPayload(
  arg: string | undefined,
  command: string,
  io: CliIO,
): Promise<unknown> {
  // Go clients send {} (an empty struct) for a request without parameters;
  // hemi-based servers turn null into a nil payload and their handlers panic.
  if (arg === undefined) return {};
  if (arg === "-") return parsePayload(await io.readStdin(), " from stdin", command);
  if (arg.startsWith("@")) {
    const path = arg.slice(1);
    return parsePayload(await readFile(path, "payload file", command), ` in "${path}"`, command);
  }
  return parsePayload(arg, "", command);
}

/** Reads a text file; a failure is a usage error naming `what`. */
export async function readFile(path: string, what: string, command: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw usage(`cannot read ${what} "${path}": ${(error as Error).message}`, command);
  }
}

function parsePayload(text: string, source: string, command: string): unknown {
  try {
    return parseJSON(text);
  } catch (error) {
    const detail = (error as Error).message
      .replace(/ in JSON at position \d+.*$/, "")
      .replace(/, ".*" is not valid JSON$/s, "");
    const offset = jsonErrorOffset(text) ??
      Number(/at position (\d+)/.exec((error as Error).message)?.[1] ?? text.length);
    const before = text.slice(0, offset).split("\n");
    const where = `at position ${offset} (line ${before.length}, column ${
      before.at(-1)!.length + 1
    })`;
    throw usage(`invalid JSON payload${source}: ${detail} ${where}`, command);
  }
}

/** Where JSON text first goes wrong: the UTF-16 offset, or undefined when it is valid. */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const space = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const string = () => {
    i++; // the opening quote
    for (;;) {
      if (i >= text.length) fail();
      const c = text[i]!;
      if (c === '"') {
        i++;
        return;
      }
      if (c === "\\") {
        i++;
        if (text[i] === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 5;
        } else if (text[i] !== undefined && '"\\/bfnrt'.includes(text[i]!)) i++;
        else fail();
      } else if (c < " ") fail();
      else i++;
    }
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (): void => {
    space();
    const c = text[i];
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      i++;
      space();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === "{") {
          space();
          if (text[i] !== '"') fail();
          string();
          space();
          if (text[i] !== ":") fail();
          i++;
        }
        value();
        space();
        if (text[i] === ",") i++;
        else if (text[i] === close) {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '"') return string();
    NUMBER.lastIndex = i;
    if (NUMBER.test(text)) {
      i = NUMBER.lastIndex;
      return;
    }
    for (const literal of ["true", "false", "null"]) {
      if (text.startsWith(literal, i)) {
        i += literal.length;
        return;
      }
    }
    fail();
  };
  try {
    value();
    space();
    if (i < text.length) fail();
    return undefined;
  } catch (at) {
    return typeof at === "number" ? at : undefined; // a RangeError: nested too deeply to scan
  }
}
