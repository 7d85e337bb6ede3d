/**
 * The `trace` extension: a W3C Trace Context (`traceparent`, `tracestate`)
 * carried as two extra header keys on a request, only when negotiated
 * (Go peers would ignore them, but never see them). Both are validated
 * strictly; an invalid `traceparent` drops both, an invalid `tracestate`
 * drops only itself.
 */

import type { TraceContext } from "./message.ts";

/** Version 00: `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`, lowercase. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_PARENT = "0".repeat(16);
/** A tracestate list member: `key=value` (W3C Trace Context §3.3.1). */
const MEMBER =
  /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const MAX_TRACESTATE = 512;
const MAX_MEMBERS = 32;

/** Whether `value` is a valid version-00 `traceparent` (ids not all zero). */
export function isTraceparent(value: unknown): value is string {
  if (typeof value !== "string") return false;
  const match = TRACEPARENT.exec(value);
  return match !== null && match[1] !== ZERO_TRACE && match[2] !== ZERO_PARENT;
}

/** Whether `value` is a valid `tracestate` (at most 32 members, 512 characters). */
export function isTracestate(value: unknown): value is string {
  if (typeof value !== "string" || value.length > MAX_TRACESTATE) return false;
  const members = value.split(",").map((m) => m.trim()).filter((m) => m !== "");
  return members.length <= MAX_MEMBERS && members.every((m) => MEMBER.test(m));
}

/** The valid trace context of `traceparent` and `tracestate`, or undefined. */
export function validTrace(traceparent: unknown, tracestate: unknown): TraceContext | undefined {
  if (!isTraceparent(traceparent)) return undefined;
  return isTracestate(tracestate) ? { traceparent, tracestate } : { traceparent };
}

/** The trace context in a message's header, when valid. */
export function traceOf(raw: unknown): TraceContext | undefined {
  const header = (raw as { header?: Record<string, unknown> } | null)?.header;
  if (header === undefined || header === null || typeof header !== "object") return undefined;
  return validTrace(header.traceparent, header.tracestate);
}

/** A request frame with the trace context as extra header keys. */
export function encodeTraced(
  command: string,
  id: string,
  payload: string,
  trace: TraceContext,
): string {
  const state = trace.tracestate === undefined
    ? ""
    : `,"tracestate":${JSON.stringify(trace.tracestate)}`;
  return `{"header":{"command":${JSON.stringify(command)},"id":${
    JSON.stringify(id)
  },"traceparent":${JSON.stringify(trace.traceparent)}${state}},"payload":${payload}}`;
}
