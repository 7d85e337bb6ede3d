/**
 * Cancellation latency: the time from a client's `AbortController.abort()`
 * to the server handler's `signal` firing, over a real socket on 127.0.0.1
 * (a Deno server and a Deno client in one process, `cancel` negotiated).
 * Prints p50/p99 in microseconds.
 *
 *     deno run -A bench/cancel_bench.ts [--n 1000]
 */
import { Conn, defineAPI, Server, unchecked } from "../mod.ts";
import { createHandler } from "../lib/deno.ts";

const n = Number(Deno.args[Deno.args.indexOf("--n") + 1] || 1000);
const api = defineAPI({
  "b-ping-request": unchecked<unknown>(),
  "b-ping-response": unchecked<unknown>(),
  "b-hang-request": unchecked<unknown>(),
  "b-hang-response": unchecked<unknown>(),
});
let started: () => void = () => {};
let fired: (at: number) => void = () => {};
const server = new Server(api, {
  extensions: true,
  handlers: {
    "b-hang-request": (_payload, { signal }) =>
      new Promise((resolve) => {
        signal.addEventListener("abort", () => {
          fired(performance.now());
          resolve(null);
        });
        started();
      }),
  },
});
const http = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  createHandler(server),
);
const conn = new Conn(`ws://127.0.0.1:${http.addr.port}/`, { api });
await conn.connect();
if (!conn.extensions.includes("cancel")) {
  throw new Error("cancel not negotiated");
}

const samples: number[] = [];
for (let i = 0; i < n + 50; i++) {
  const running = new Promise<void>((resolve) => started = resolve);
  const handlerAborted = new Promise<number>((resolve) => fired = resolve);
  const abort = new AbortController();
  const call = conn.call("b-hang-request", {}, { signal: abort.signal }).catch(
    () => {},
  );
  await running;
  const t0 = performance.now();
  abort.abort();
  const t1 = await handlerAborted;
  await call;
  if (i >= 50) samples.push((t1 - t0) * 1000); // the first 50 warm up
}
await conn.close();
await server.shutdown({ graceMs: 0 });
await http.shutdown();

samples.sort((a, b) => a - b);
const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
console.log(
  `cancel latency (client abort -> handler signal), n=${samples.length}: ` +
    `p50 ${at(0.5).toFixed(0)} µs, p99 ${at(0.99).toFixed(0)} µs, max ${
      samples.at(-1)!.toFixed(0)
    } µs (Deno ${Deno.version.deno})`,
);
