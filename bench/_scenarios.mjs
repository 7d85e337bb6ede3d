// The benchmark scenarios, runtime-neutral (Deno, Bun, Node 20): plain
// JavaScript so that Node runs it without a TypeScript loader. A client
// process builds an adapter for one implementation and calls
// `runScenario`, which prints nothing and returns a result object.
//
// An adapter is `{ ping(big?), echo(text), close() }` made by
// `connect(url)`; every call resolves when its answer has arrived.

import process from "node:process";
import { threadCpuDelta, threadCpuMs } from "./_threads.mjs";

/** The wire text of a wsrpc ping request (what raw clients send too). */
export function pingText(id, big = false) {
  return `{"header":{"command":"demo-ping-request","id":"${id}"},"payload":{"timestamp":${
    big ? "9223372036854775809" : "1"
  }}}`;
}

/** The wire text of a wsrpc echo request carrying `text`. */
export function echoText(id, text) {
  return `{"header":{"command":"demo-echo-request","id":"${id}"},"payload":${
    JSON.stringify(text)
  }}`;
}

const now = () => performance.now();

function cpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Reads the server's own CPU time and memory (`/stats` on every bench server). */
async function serverStats(httpBase, gc = false) {
  const response = await fetch(`${httpBase}/stats${gc ? "?gc=1" : ""}`);
  return await response.json();
}

/** Keeps `inflight` calls outstanding until `n` have completed. */
async function pipeline(n, inflight, call) {
  let issued = 0;
  const worker = async () => {
    while (issued < n) {
      issued++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, n) }, worker));
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(
    sorted.length - 1,
    Math.max(0, Math.ceil(p * sorted.length) - 1),
  );
  return sorted[i];
}

/**
 * Times `body` and reads both sides' CPU around it, in total and per thread
 * group (Linux; see _threads.mjs).
 * Returns `{ ms, clientCpuMs, serverCpuMs, clientThreadsMs, serverThreadsMs }`.
 */
async function timed(httpBase, body) {
  const s0 = httpBase ? await serverStats(httpBase) : undefined;
  const ct0 = threadCpuMs();
  const c0 = cpuMs();
  const t0 = now();
  await body();
  const ms = now() - t0;
  const clientCpuMs = cpuMs() - c0;
  const clientThreadsMs = threadCpuDelta(ct0, threadCpuMs());
  const s1 = httpBase ? await serverStats(httpBase) : undefined;
  const serverCpuMs = s0 && s1 ? s1.cpuMs - s0.cpuMs : undefined;
  const serverThreadsMs = threadCpuDelta(s0?.threads, s1?.threads);
  return { ms, clientCpuMs, serverCpuMs, clientThreadsMs, serverThreadsMs };
}

/**
 * Runs one scenario.
 *
 * spec: { scenario, url, httpBase, n, inflight, size, warmup, concurrency, int64 }
 * connect: (url) => Promise<adapter>
 */
export async function runScenario(spec, connect) {
  const { scenario } = spec;
  if (scenario === "pipelined" || scenario === "echo") {
    const conn = await connect(spec.url);
    const text = scenario === "echo" ? "x".repeat(spec.size) : undefined;
    const call = text === undefined ? () => conn.ping(spec.int64 === true) : () => conn.echo(text);
    await pipeline(spec.warmup, spec.inflight, call);
    const t = await timed(
      spec.httpBase,
      () => pipeline(spec.n, spec.inflight, call),
    );
    await conn.close();
    const seconds = t.ms / 1000;
    return scenario === "echo"
      ? {
        ...t,
        n: spec.n,
        value: (spec.n * spec.size) / seconds / 1e6,
        unit: "MB/s",
      }
      : { ...t, n: spec.n, value: spec.n / seconds, unit: "calls/s" };
  }
  if (scenario === "sequential" || scenario === "nagle") {
    const conn = await connect(spec.url);
    const call = scenario === "nagle" ? () => conn.pingTwoFrames() : () => conn.ping(false);
    for (let i = 0; i < spec.warmup; i++) await call();
    const samples = new Float64Array(spec.n);
    const t = await timed(spec.httpBase, async () => {
      for (let i = 0; i < spec.n; i++) {
        const t0 = now();
        await call();
        samples[i] = (now() - t0) * 1000;
      }
    });
    await conn.close();
    samples.sort();
    return {
      ...t,
      n: spec.n,
      value: percentile(samples, 0.5),
      p50: percentile(samples, 0.5),
      p99: percentile(samples, 0.99),
      max: samples[samples.length - 1],
      unit: "us",
    };
  }
  if (scenario === "connect") {
    // Open, handshake (when authenticated), read the first message, close.
    for (let i = 0; i < spec.warmup; i++) {
      await (await connect(spec.url)).close();
    }
    let done = 0;
    const t = await timed(spec.httpBase, async () => {
      const worker = async () => {
        while (done < spec.n) {
          done++;
          const conn = await connect(spec.url);
          await conn.close();
        }
      };
      await Promise.all(Array.from({ length: spec.concurrency }, worker));
    });
    return { ...t, n: spec.n, value: spec.n / (t.ms / 1000), unit: "conn/s" };
  }
  if (scenario === "idle") {
    // Warm the server (code paths compiled, pools grown), then measure.
    const warm = [];
    for (let i = 0; i < spec.warmup; i++) warm.push(await connect(spec.url));
    const before = await serverStats(spec.httpBase, true);
    const conns = [];
    const t0 = now();
    let opened = 0;
    const worker = async () => {
      while (opened < spec.n) {
        opened++;
        conns.push(await connect(spec.url));
      }
    };
    await Promise.all(Array.from({ length: spec.concurrency }, worker));
    const ms = now() - t0;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await serverStats(spec.httpBase, true);
    const perConn = (after.rss - before.rss) / conns.length;
    const heapPerConn = (after.heapUsed - before.heapUsed) / conns.length;
    const sessions = after.sessions;
    await Promise.all([...conns, ...warm].map((c) => c.close()));
    return {
      ms,
      n: conns.length,
      value: perConn / 1024,
      rssPerConnKiB: perConn / 1024,
      heapPerConnKiB: heapPerConn / 1024,
      sessions,
      unit: "KiB/conn",
    };
  }
  throw new Error(`unknown scenario ${scenario}`);
}

/**
 * A raw WebSocket adapter: no RPC layer. It sends the same bytes a wsrpc
 * client would and takes the echoed frames in order, without parsing them.
 */
export function rawConnect(makeSocket) {
  return (url) =>
    new Promise((resolve, reject) => {
      const ws = makeSocket(url);
      const waiting = [];
      let head = 0;
      let id = 0;
      // `/first`: the server greets first, as a wsrpc server does; the
      // connection counts as established once that message has arrived.
      let greeting = url.endsWith("/first");
      ws.onmessage = () => {
        if (greeting) {
          greeting = false;
          resolve(adapter);
          return;
        }
        const resolveCall = waiting[head];
        waiting[head++] = undefined;
        if (head > 4096 && head * 2 > waiting.length) {
          waiting.splice(0, head);
          head = 0;
        }
        resolveCall();
      };
      const call = (text) =>
        new Promise((res) => {
          waiting.push(res);
          ws.send(text);
        });
      const closed = new Promise((res) => ws.onclose = res);
      ws.onerror = (e) => reject(new Error(`raw socket error: ${e.message ?? e}`));
      const adapter = {
        ping: (big) => call(pingText(String(++id), big)),
        echo: (text) => call(echoText(String(++id), text)),
        // Two frames per call, answered as one (the server's /pair path):
        // shows what Nagle's algorithm does to a message split in two.
        pingTwoFrames: () => {
          const text = pingText(String(++id));
          const half = text.length >> 1;
          return new Promise((res) => {
            waiting.push(res);
            ws.send(text.slice(0, half));
            ws.send(text.slice(half));
          });
        },
        close: async () => {
          ws.close();
          await closed;
        },
      };
      ws.onopen = () => {
        if (!greeting) resolve(adapter);
      };
    });
}
