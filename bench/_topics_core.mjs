// The client side of the fan-out benchmark (`deno task bench:topics`), shared
// by the wsrpc client (bench/_topics_client.ts, Deno) and the socket.io client
// (bench/_topics_client_sio.mjs, Node). `runClient(connect)` reads one JSON
// command per stdin line and answers each with one JSON line on stdout:
//
// - {"op":"open","urls":[...],"first":K,"n":N,"concurrency":C}: opens N
//   connections, the i-th on urls[(K + i) % urls.length].
// - {"op":"subscribe","topic":T}: subscribes every open connection to T (a
//   separate step, so that the server's memory per subscription can be read).
// - {"op":"measure","warmupMs":W,"ms":D}: counts the deliveries that arrive in
//   [W, W + D) from now, with their latency from publish (a log histogram, as
//   bench/_curve_client.ts's, 2 % buckets of microseconds).
// - {"op":"publish","urls":[...],"topic":T,"warmupMs":W,"ms":D,"window":K}:
//   measures as "measure" does and publishes through a connection of its own
//   on urls[0] for W + D ms, closed-loop: message n goes out once every
//   subscriber of this process has message n - K. The other client processes
//   hold as many subscribers, spread over the instances alike, so no
//   subscriber falls far behind and nothing queues without bound.
// - {"op":"close"}: closes every connection and exits.
//
// `connect(url, onEvent)` resolves to `{ subscribe(topic), publish(topic, event), close() }`.

import process from "node:process";
import { createInterface } from "node:readline";

/** Epoch milliseconds with sub-millisecond precision, comparable across processes. */
export const clock = () => performance.timeOrigin + performance.now();
const DATA = "x".repeat(64);

export async function runClient(connect) {
  const conns = [];
  const reply = (value) => process.stdout.write(JSON.stringify(value) + "\n");
  let window = undefined; // the current measurement
  // The publisher's gate: the last message every subscriber of this process has.
  let subscribed = 0;
  let completed = 0;
  let wake;
  const received = new Map();
  const onEvent = (event) => {
    const count = (received.get(event.n) ?? 0) + 1;
    if (count >= subscribed) {
      received.delete(event.n);
      completed = Math.max(completed, event.n);
      wake?.();
    } else received.set(event.n, count);
    const w = window;
    if (w === undefined) return;
    const now = clock();
    if (now < w.from || now >= w.until) return;
    w.deliveries++;
    const b = Math.round(Math.log(Math.max((now - event.t) * 1000, 1)) * 50);
    w.hist[b] = (w.hist[b] ?? 0) + 1;
  };

  async function open({ urls, first = 0, n, concurrency = 32 }) {
    const t0 = performance.now();
    let started = 0;
    let errors = 0;
    let firstError;
    const worker = async () => {
      while (started < n) {
        const url = urls[(first + started++) % urls.length];
        try {
          conns.push(await connect(url, onEvent));
        } catch (error) {
          errors++;
          firstError ??= String(error?.message ?? error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
    reply({
      open: conns.length,
      errors,
      firstError,
      ms: performance.now() - t0,
    });
  }

  async function subscribe({ topic, concurrency = 64 }) {
    const t0 = performance.now();
    let next = 0;
    let errors = 0;
    const worker = async () => {
      while (next < conns.length) {
        await conns[next++].subscribe(topic).catch(() => errors++);
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(concurrency, conns.length) }, worker),
    );
    subscribed = conns.length - errors;
    reply({
      subscribed,
      errors,
      ms: performance.now() - t0,
    });
  }

  async function measure({ warmupMs, ms }, answer = true) {
    const start = clock();
    const w = {
      from: start + warmupMs,
      until: start + warmupMs + ms,
      deliveries: 0,
      hist: {},
    };
    window = w;
    await new Promise((r) => setTimeout(r, warmupMs + ms + 50));
    window = undefined;
    const result = { deliveries: w.deliveries, hist: w.hist };
    if (answer) reply(result);
    return result;
  }

  async function publish({ urls, topic, warmupMs, ms, window: k }) {
    const measured = measure({ warmupMs, ms }, false);
    const publisher = await connect(urls[0], () => {});
    const until = performance.now() + warmupMs + ms;
    let n = 0;
    let stalls = 0;
    while (performance.now() < until) {
      while (completed < n + 1 - k && performance.now() < until) {
        // Bounded: a lost message shows as a stall, not a hang.
        let timer;
        const stall = new Promise((r) => timer = setTimeout(r, 1_000, "stall"));
        if (await Promise.race([new Promise((r) => wake = r), stall]) === "stall") stalls++;
        clearTimeout(timer);
      }
      publisher.publish(topic, { t: clock(), n: ++n, data: DATA });
    }
    await publisher.close().catch(() => {});
    reply({ ...await measured, published: n, stalls });
  }

  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === "") continue;
    const command = JSON.parse(line);
    if (command.op === "open") await open(command);
    else if (command.op === "subscribe") await subscribe(command);
    else if (command.op === "measure") await measure(command);
    else if (command.op === "publish") await publish(command);
    else if (command.op === "close") {
      await Promise.all(conns.map((c) => c.close().catch(() => {})));
      reply({ closed: conns.length });
      break;
    }
  }
  process.exit(0);
}
