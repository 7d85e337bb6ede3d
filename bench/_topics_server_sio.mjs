// One socket.io 4.8 instance of the fan-out benchmark (`deno task bench:topics`),
// on Node: `node --expose-gc bench/_topics_server_sio.mjs` with `BUS=memory|redis`
// (the in-memory adapter, or @socket.io/redis-adapter 8.3 on two node-redis
// connections) and `BUS_URL`. Rooms are the topics: "watch" joins the room,
// "publish" emits to it, as bench/_topics_server.ts subscribes and publishes.
// WebSocket transport only. Prints `READY <port>`; `GET /stats` as the others.
// The clients are the dev-only dependencies of examples/cluster/.

import http from "node:http";
import process from "node:process";
import { createRequire } from "node:module";

const require = createRequire(
  new URL("../examples/cluster/package.json", import.meta.url),
);
const { Server } = require("socket.io");

const kind = process.env.BUS ?? "memory";
const httpServer = http.createServer((request, response) => {
  const url = new URL(request.url ?? "/", "http://x");
  if (url.pathname !== "/stats") return; // socket.io's own requests
  if (url.searchParams.has("gc")) {
    globalThis.gc?.();
    globalThis.gc?.();
  }
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  response.writeHead(200, { "content-type": "application/json" }).end(
    JSON.stringify({
      cpuMs: (cpu.user + cpu.system) / 1000,
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      sessions: io.engine.clientsCount,
    }),
  );
});

const io = new Server(httpServer, {
  transports: ["websocket"],
  serveClient: false,
});
if (kind === "redis") {
  const { createClient } = require("redis");
  const { createAdapter } = require("@socket.io/redis-adapter");
  const pub = createClient({ url: process.env.BUS_URL });
  const sub = pub.duplicate();
  pub.on("error", () => {});
  sub.on("error", () => {});
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
}
io.on("connection", (socket) => {
  socket.on("watch", (topic, ack) => {
    socket.join(topic);
    ack?.(null);
  });
  socket.on("publish", (topic, event, ack) => {
    io.to(topic).emit("event", event);
    ack?.(null);
  });
});
httpServer.listen(0, "127.0.0.1", () => {
  console.log(`READY ${httpServer.address().port}`);
});
