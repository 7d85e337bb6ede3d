/**
 * A small Go-style formatter for error messages: `%v`, `%s`, `%d`, `%x`, `%q`
 * and `%%`. Missing arguments print as `%!v(MISSING)`, as Go does.
 */

import { toHex } from "./_bytes.ts";
export function formatf(format: string, args: readonly unknown[]): string {
  let next = 0;
  return format.replace(/%([%vsdxq])/g, (_match, verb: string) => {
    if (verb === "%") return "%";
    if (next >= args.length) return `%!${verb}(MISSING)`;
    const arg = args[next++];
    switch (verb) {
      case "d":
        return typeof arg === "number" || typeof arg === "bigint"
          ? String(typeof arg === "number" ? Math.trunc(arg) : arg)
          : String(arg);
      case "x":
        if (typeof arg === "number" || typeof arg === "bigint") {
          return arg.toString(16);
        }
        if (arg instanceof Uint8Array) return toHex(arg);
        return toHex(new TextEncoder().encode(String(arg)));
      case "q":
        return JSON.stringify(String(arg));
      default:
        return display(arg);
    }
  });
}

function display(arg: unknown): string {
  if (arg instanceof Error) return arg.message;
  if (arg instanceof Uint8Array) return `[${arg.join(" ")}]`;
  if (arg !== null && typeof arg === "object") {
    try {
      return JSON.stringify(arg, (_k, v) => typeof v === "bigint" ? String(v) : v);
    } catch {
      return String(arg);
    }
  }
  return String(arg);
}
