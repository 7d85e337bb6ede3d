/**
 * The `trace` extension over real sockets: a W3C trace context from the
 * client reaches the handler's context and the server's error log, only when
 * negotiated, validated strictly; a server that offers nothing (as a Go one)
 * gets no extra header key.
 */
import assert from "node:assert/strict";
import { Conn, defineAPI, type RequestContext, unchecked } from "../mod.ts";
import type { TraceContext } from "../lib/types.ts";
import { isTraceparent, isTracestate, traceOf } from "../lib/_trace.ts";
import { logLine } from "../lib/_redact.ts";
import { InternalError } from "../lib/errors.ts";
import { rawConnect, startServer, waitFor } from "./_server.ts";

const api = defineAPI({
  "t-ping-request": unchecked<unknown>(),
  "t-ping-response": unchecked<unknown>(),
  "t-see-request": unchecked<unknown>(),
  "t-see-response": unchecked<unknown>(),
  "t-boom-request": unchecked<unknown>(),
  "t-boom-response": unchecked<unknown>(),
});
const PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

function start(extensions: boolean | string[]) {
  const seen: (TraceContext | undefined)[] = [];
  const logged: (TraceContext | undefined)[] = [];
  const ts = startServer(api, {
    extensions,
    handlers: {
      "t-see-request": (_p, context: RequestContext<typeof api>) => {
        seen.push(context.trace);
        return null;
      },
      "t-boom-request": () => {
        throw new Error("database down");
      },
    },
    onError: (_error, _session, context) => logged.push(context?.trace),
  });
  return { ts, seen, logged };
}

Deno.test("trace: validation is strict (version 00, lowercase hex, ids not zero; tracestate grammar)", () => {
  const valid = [PARENT, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"];
  const invalid = [
    PARENT.toUpperCase(),
    "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // only version 00 is understood
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
    `${PARENT}-extra`,
    " " + PARENT,
    "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
    42,
    undefined,
  ];
  for (const v of valid) assert.equal(isTraceparent(v), true, v);
  for (const v of invalid) assert.equal(isTraceparent(v), false, String(v));
  assert.equal(isTracestate("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"), true);
  assert.equal(isTracestate("tenant@vendor=x"), true);
  assert.equal(isTracestate("Bad=x"), false);
  assert.equal(isTracestate("a=\n"), false);
  assert.equal(isTracestate("a=1,".repeat(33)), false);
  assert.equal(isTracestate("a=" + "x".repeat(600)), false);
  assert.deepEqual(traceOf({ header: { traceparent: PARENT, tracestate: "Bad=x" } }), {
    traceparent: PARENT,
  });
  assert.equal(traceOf({ header: { traceparent: "nope", tracestate: "a=1" } }), undefined);
});

Deno.test("trace: the default log line carries the traceparent", () => {
  const [line] = logLine(new InternalError(new Error("x")), "7", PARENT);
  assert.match(line, new RegExp(`^wsrpc: session 7 \\(traceparent ${PARENT}\\): `));
});

Deno.test("trace: Conn sends the context (per call or from the hook); the handler and the log see it", async () => {
  const { ts, seen, logged } = start(true);
  await using _ = ts;
  let hook: TraceContext | undefined = { traceparent: PARENT, tracestate: "k=v" };
  const conn = new Conn(ts.url, { api, trace: () => hook });
  await conn.connect();
  assert.deepEqual(conn.extensions, ["cancel", "trace", "topics"]);
  await conn.call("t-see-request", {});
  const mine = { traceparent: PARENT.replace(/-01$/, "-00") };
  await conn.call("t-see-request", {}, { trace: mine, signal: AbortSignal.timeout(5_000) });
  hook = { traceparent: "00-bad" }; // invalid: not sent
  await conn.call("t-see-request", {});
  hook = undefined;
  await conn.call("t-see-request", {});
  hook = { traceparent: PARENT };
  await assert.rejects(conn.call("t-boom-request", {}), /internal error/);
  assert.deepEqual(seen, [{ traceparent: PARENT, tracestate: "k=v" }, mine, undefined, undefined]);
  await waitFor(() => logged.length === 1);
  assert.deepEqual(logged, [{ traceparent: PARENT }]);
  await conn.close();
});

Deno.test("trace: not negotiated, header keys are ignored by the server and not sent by Conn", async () => {
  const { ts, seen } = start(["cancel"]); // no trace offered
  await using _ = ts;
  const conn = new Conn(ts.url, { api, trace: () => ({ traceparent: PARENT }) });
  await conn.connect();
  await conn.call("t-see-request", {});
  await conn.close();
  // A raw client that sends the keys without a hello: ignored.
  const { ts: ts2, seen: seen2 } = start(true);
  await using _2 = ts2;
  const raw = await rawConnect(ts2.url);
  raw.send(JSON.stringify({ header: { command: "t-see-request", id: "1", traceparent: PARENT } }));
  await raw.next();
  raw.socket.close();
  await raw.closed;
  assert.deepEqual([...seen, ...seen2], [undefined, undefined]);
});

Deno.test("trace: a server that offers nothing (as a Go one) gets no traceparent key", async () => {
  const frames: string[] = [];
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onopen = () => socket.send('{"header":{"command":"t-ping-request","id":"0"}}');
    socket.onmessage = (e) => {
      frames.push(e.data);
      const { header } = JSON.parse(e.data);
      socket.send(JSON.stringify({ header: { command: "t-see-response", id: header.id } }));
    };
    return response;
  });
  const conn = new Conn(`ws://127.0.0.1:${http.addr.port}/`, {
    api,
    trace: () => ({ traceparent: PARENT }),
  });
  try {
    await conn.connect();
    await conn.call("t-see-request", {}, { trace: { traceparent: PARENT } });
    assert.deepEqual(frames, ['{"header":{"command":"t-see-request","id":"1"},"payload":{}}']);
  } finally {
    await conn.close();
    await http.shutdown();
  }
});
