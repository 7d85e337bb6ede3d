/**
 * examples/otel/tracing.ts with the real OpenTelemetry API and SDK (dev-only,
 * tests/ext): a client span and a server span joined by the same trace over
 * a real socket, through the `trace` extension.
 */
import assert from "node:assert/strict";
import { Conn, defineAPI, unchecked } from "../mod.ts";
import { clientTrace, type OtelAPI, tracedHandler } from "../examples/otel/tracing.ts";
import { importDev } from "./_ext_deps.ts";
import { startServer } from "./_server.ts";

const otel = await importDev("@opentelemetry/api");
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = await importDev(
  "@opentelemetry/sdk-trace-base",
);
const { W3CTraceContextPropagator } = await importDev("@opentelemetry/core");
const { AsyncLocalStorageContextManager } = await importDev("@opentelemetry/context-async-hooks");

const api = defineAPI({
  "o-ping-request": unchecked(),
  "o-ping-response": unchecked(),
  "o-work-request": unchecked<{ n: number }>(),
  "o-work-response": unchecked<{ n: number }>(),
});

Deno.test("otel: the client span and the server span share one trace; the server span is its child", async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  otel.trace.setGlobalTracerProvider(provider);
  otel.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  otel.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const api_ = otel as OtelAPI;
  try {
    await using ts = startServer(api, {
      extensions: true,
      handlers: {
        "o-work-request": tracedHandler(api_, "o-work", ({ n }: { n: number }) => ({ n: n * 2 })),
      },
    });
    const conn = new Conn(ts.url, { api, trace: clientTrace(api_) });
    await conn.connect();
    const tracer = otel.trace.getTracer("client");
    await tracer.startActiveSpan("checkout", async (span: { end(): void }) => {
      assert.deepEqual(await conn.call("o-work-request", { n: 21 }), { n: 42 });
      span.end();
    });
    // Outside any span the hook gives nothing, and the request carries no context.
    assert.equal(clientTrace(api_)(), undefined);
    await conn.close();
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s: { name: string }) => s.name === "o-work");
    const client = spans.find((s: { name: string }) => s.name === "checkout");
    assert.ok(server && client, JSON.stringify(spans.map((s: { name: string }) => s.name)));
    assert.equal(server.spanContext().traceId, client.spanContext().traceId);
    assert.equal(
      server.parentSpanContext?.spanId ?? server.parentSpanId,
      client.spanContext().spanId,
    );
    assert.equal(server.kind, otel.SpanKind.SERVER);
  } finally {
    await provider.shutdown();
    otel.trace.disable();
    otel.propagation.disable();
    otel.context.disable();
  }
});
