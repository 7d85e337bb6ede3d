/**
 * The server's own JavaScript cost per echo, in process: a wsrpc `Server`
 * (through the Bun adapter's socket, fed by hand) against the JSON floor's
 * reply (`bench/_json_floor.mjs`), for the same flat request text. No
 * network and no event loop: what is left is each server's work per message
 * (checks, parse, handler, stringify), which over a real socket costs
 * several times its own size on Bun (see `bench/amplify.ts`).
 *
 * `deno run -A bench/server_cost.ts` or `bun bench/server_cost.ts`; prints
 * µs per echo of a 64 KiB and a 1 MiB string, 5 rounds each, alternating,
 * and the median over rounds 2–5 (the first warms up).
 *
 * @module
 */

import { Server } from "../lib/server.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import { BunSocket } from "../lib/_bun_socket.ts";
import { jsonFloorReply } from "./_json_floor.mjs";
import { median } from "./_median.ts";

let replies = 0;
const server = new Server(demoAPI, {
  handlers: demoHandlers,
  maxInFlight: 4096,
  readLimit: 4 * 1024 * 1024,
});
const socket = new BunSocket({
  data: {},
  readyState: 1,
  send: (text: string) => {
    replies++;
    return text.length;
  },
  close: () => {},
  getBufferedAmount: () => 0,
});
socket.onOpen();
void server.serveSocket(socket, { request: new Request("http://localhost/") });
await new Promise((resolve) => setTimeout(resolve, 10)); // its greeting goes out

/** µs per message of `handle`, each given a fresh flat request text. */
function cost(size: number, count: number, handle: (text: string) => void): number {
  const payload = JSON.stringify("x".repeat(size));
  let spent = 0;
  for (let i = 0; i < count; i++) {
    const text = `{"header":{"command":"demo-echo-request","id":"${i}"},"payload":${payload}}`;
    text.charCodeAt(0); // flattens the concatenation, as a received frame is flat
    const started = performance.now();
    handle(text);
    spent += performance.now() - started;
  }
  return spent * 1000 / count;
}

for (const [size, count] of [[65_536, 3_000], [1_048_576, 300]] as const) {
  const rows: string[] = [];
  const floors: number[] = [], wsrpcs: number[] = [];
  for (let round = 0; round < 5; round++) {
    const floor = cost(size, count, (text) => void jsonFloorReply(text));
    const before = replies;
    const wsrpc = cost(size, count, (text) => socket.onMessage(text));
    if (replies - before !== count) throw new Error("the server did not answer every echo");
    rows.push(`${floor.toFixed(1)} / ${wsrpc.toFixed(1)}`);
    if (round > 0) floors.push(floor), wsrpcs.push(wsrpc);
  }
  console.log(
    `${size} B echo, µs per message, floor / wsrpc: ${rows.join("; ")}; ` +
      `median of rounds 2-5: ${median(floors).toFixed(1)} / ${median(wsrpcs).toFixed(1)}`,
  );
}
await server.shutdown({ graceMs: 0 });
