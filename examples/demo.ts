/**
 * `deno task demo`: starts the demo server on an ephemeral port of
 * 127.0.0.1, connects a client, makes a few calls, prints what happened and
 * exits 0.
 */
import { Conn, ProtocolError, Server } from "../mod.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import { createHandler } from "../lib/deno.ts";

const server = new Server(demoAPI, { handlers: demoHandlers });
const http = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  createHandler(server, { path: "/v1/ws" }),
);
const url = `ws://127.0.0.1:${http.addr.port}/v1/ws`;
console.log(`server listening on ${url}`);

await using conn = new Conn(url, { api: demoAPI });
await conn.connect();
console.log('client connected (read the server\'s first ping, id "0")');

const pong = await conn.call("demo-ping-request", { timestamp: Math.floor(Date.now() / 1000) });
console.log("demo-ping-request  ->", JSON.stringify(pong));

const echo = await conn.call("demo-echo-request", { hello: "world", height: 2n ** 63n + 1n });
console.log(
  "demo-echo-request  ->",
  JSON.stringify(echo, (_k, v) => typeof v === "bigint" ? `${v}n` : v),
);

const slow = conn.call("demo-sleep-request", { ms: 300 });
const fast = conn.call("demo-sleep-request", { ms: 1 });
const order: number[] = [];
await Promise.all([slow, fast].map((p) => p.then((r) => order.push(r.ms))));
console.log("demo-sleep-request ->", `answered in the order ${order.join(", ")} ms (out of order)`);

await conn.call("demo-notify-request", { count: 3 });
const seqs = [];
for (let i = 0; i < 3; i++) seqs.push((await conn.read()).payload.seq);
console.log("demo-notify-request -> pushes with seq", seqs.join(", "));

try {
  await conn.call("demo-fail-request", {});
} catch (error) {
  if (!(error instanceof ProtocolError)) throw error;
  console.log("demo-fail-request  -> ProtocolError:", error.toString());
}

await conn.close();
await server.shutdown();
await http.shutdown();
console.log("done");
