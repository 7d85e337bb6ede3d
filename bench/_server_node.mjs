// Benchmark servers on Node (20+) with `ws`: `node --expose-gc
// bench/_server_node.mjs <mode>`. Prints `READY <port>`; `GET /stats`
// answers with CPU time (in total and per thread group) and memory. Modes: `raw` (ws echo; `/pair`, `/first`
// as on the other servers), `json` (the JSON floor on `ws`, for bench/transport.ts), `rpc-websockets`.

import http from "node:http";
import process from "node:process";
import { WebSocketServer } from "ws";
import { processStats } from "./_process_stats.mjs";

const mode = process.argv[2] ?? "raw";
const FIRST = '{"header":{"command":"demo-ping-request","id":"0"},"payload":{"timestamp":1}}';
let sessions = () => 0;

const httpServer = http.createServer((request, response) => {
  const url = new URL(request.url ?? "/", "http://x");
  if (url.pathname !== "/stats") {
    response.writeHead(426).end();
    return;
  }
  if (url.searchParams.has("gc")) {
    globalThis.gc?.();
    globalThis.gc?.();
  }
  response.writeHead(200, { "content-type": "application/json" }).end(
    JSON.stringify(processStats(sessions())),
  );
});

if (mode === "raw") {
  const wss = new WebSocketServer({
    server: httpServer,
    maxPayload: 16 * 1024 * 1024,
  });
  sessions = () => wss.clients.size;
  wss.on("connection", (ws, request) => {
    const path = new URL(request.url ?? "/", "http://x").pathname;
    let half;
    if (path === "/first") ws.send(FIRST);
    ws.on("message", (data, isBinary) => {
      if (path !== "/pair") ws.send(data, { binary: isBinary });
      else if (half === undefined) half = data;
      else {
        ws.send(Buffer.concat([half, data]), { binary: false });
        half = undefined;
      }
    });
  });
} else if (mode === "json") {
  const { GREETING, jsonFloorReply } = await import("./_json_floor.mjs");
  const wss = new WebSocketServer({ server: httpServer, maxPayload: 16 * 1024 * 1024 });
  sessions = () => wss.clients.size;
  wss.on("connection", (ws) => {
    ws.send(GREETING);
    ws.on("message", (data) => ws.send(jsonFloorReply(data.toString())));
  });
} else if (mode === "rpc-websockets") {
  const { Server } = await import("rpc-websockets");
  const server = new Server({
    server: httpServer,
    maxPayload: 16 * 1024 * 1024,
  });
  sessions = () => server.wss.clients.size;
  server.register("ping", (params) => ({
    origintimestamp: params.timestamp,
    timestamp: Math.floor(Date.now() / 1000),
  }));
  server.register("echo", (params) => params);
} else {
  throw new Error(`unknown mode ${mode}`);
}

httpServer.listen(0, "127.0.0.1", () => {
  console.log(`READY ${httpServer.address().port}`);
});
