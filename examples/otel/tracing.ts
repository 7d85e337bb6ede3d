/**
 * OpenTelemetry over wsrpc's `trace` extension, with no dependency in the
 * package: pass the `@opentelemetry/api` module in.
 *
 * ```ts ignore
 * import * as otel from "@opentelemetry/api";
 * import { clientTrace, tracedHandler } from "./tracing.ts";
 *
 * // Client: every call carries the active span's context.
 * const conn = new Conn(url, { api, trace: clientTrace(otel) });
 * await otel.trace.getTracer("app").startActiveSpan("checkout", async (span) => {
 *   await conn.call("shop-buy-request", { item: 7 }); // joined to "checkout"
 *   span.end();
 * });
 *
 * // Server: each handler runs in a server span whose parent is the client's.
 * const server = new Server(api, {
 *   extensions: true,
 *   handlers: { "shop-buy-request": tracedHandler(otel, "shop-buy", buy) },
 * });
 * ```
 *
 * A tracer provider and a W3C propagator must be registered (as the
 * OpenTelemetry SDK's setup does); tests/otel_test.ts runs this with
 * `@opentelemetry/sdk-trace-base`.
 *
 * @module
 */

import type { API, RequestContext } from "../../mod.ts";
import type { TraceContext } from "../../lib/types.ts";

/** The part of `@opentelemetry/api` used here (the module itself fits). */
export interface OtelAPI {
  context: {
    active(): unknown;
    with<T>(context: unknown, fn: () => T): T;
  };
  propagation: {
    inject(context: unknown, carrier: Record<string, string>): void;
    extract(context: unknown, carrier: Record<string, string>): unknown;
  };
  trace: {
    getTracer(name: string): {
      startSpan(name: string, options: { kind?: number }, context?: unknown): OtelSpan;
    };
    setSpan(context: unknown, span: OtelSpan): unknown;
  };
  SpanKind: { SERVER: number };
  SpanStatusCode: { ERROR: number };
}

/** The part of an OpenTelemetry span used here. */
export interface OtelSpan {
  end(): void;
  recordException(error: unknown): void;
  setStatus(status: { code: number }): void;
}

/** `ConnOptions.trace`: the active context as a `traceparent` (and `tracestate`). */
export function clientTrace(otel: OtelAPI): () => TraceContext | undefined {
  return () => {
    const carrier: Record<string, string> = {};
    otel.propagation.inject(otel.context.active(), carrier);
    if (carrier.traceparent === undefined) return undefined;
    return carrier.tracestate === undefined
      ? { traceparent: carrier.traceparent }
      : { traceparent: carrier.traceparent, tracestate: carrier.tracestate };
  };
}

/**
 * Wraps a handler so that it runs in a server span, a child of the client's
 * span when the request carried one.
 */
export function tracedHandler<P, R, A extends API>(
  otel: OtelAPI,
  name: string,
  handler: (payload: P, context: RequestContext<A>) => R | Promise<R>,
): (payload: P, context: RequestContext<A>) => Promise<R> {
  const tracer = otel.trace.getTracer("wsrpc");
  return async (payload, context) => {
    const carrier: Record<string, string> = {};
    if (context.trace !== undefined) {
      carrier.traceparent = context.trace.traceparent;
      if (context.trace.tracestate !== undefined) carrier.tracestate = context.trace.tracestate;
    }
    const parent = otel.propagation.extract(otel.context.active(), carrier);
    const span = tracer.startSpan(name, { kind: otel.SpanKind.SERVER }, parent);
    try {
      return await otel.context.with(
        otel.trace.setSpan(parent, span),
        () => handler(payload, context),
      );
    } catch (error) {
      span.recordException(error);
      span.setStatus({ code: otel.SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  };
}
