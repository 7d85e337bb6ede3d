/** How server-supplied values are shown: JSON text, a payload's error, a close status. */

import { ProtocolError } from "../errors.ts";
import { replaceBigInt } from "../_json.ts";
import { safeText } from "../_safe_text.ts";
import type { CliIO } from "./_io.ts";

/** `--pretty` and `--compact`, of the commands that print JSON. */
export const OUTPUT_FLAGS = {
  pretty: { type: "boolean", help: "indent the output even when piped" },
  compact: { type: "boolean", help: "one line even on a terminal" },
} as const;

/** Whether to indent JSON output: `--pretty`, or a terminal without `--compact`. */
export function isPretty(flags: { pretty?: true; compact?: true }, io: CliIO): boolean {
  return flags.pretty === true || (flags.compact !== true && io.isTerminal());
}

/** JSON text of `value`, integers beyond 2^53 exact (bigint); indented when `pretty`. */
export function formatJSON(value: unknown, pretty: boolean): string {
  return JSON.stringify(value, replaceBigInt, pretty ? 2 : undefined) ?? "null";
}

/** The error a response payload carries, as one safe line, or undefined. */
export function errorText(payload: unknown): string | undefined {
  if (payload === null || typeof payload !== "object") return undefined;
  const error = (payload as { error?: unknown }).error;
  if (error === undefined || error === null) return undefined;
  return safeText(ProtocolError.fromJSON(error)?.toString() ?? formatJSON(error, false));
}

/** A close code and its reason, quoted and safe: `1001 "server shutting down"`. */
export function closeStatus(code: number, reason: string): string {
  return `${code}${reason ? ` ${safeText(JSON.stringify(reason))}` : ""}`;
}
