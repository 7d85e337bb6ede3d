/**
 * Benchmark servers on Bun: `bun bench/_server_bun.ts <mode>`. Listens on
 * 127.0.0.1:0, prints `READY <port>` and serves until killed; `GET /stats`
 * answers with its own CPU time and memory (`?gc=1` collects first).
 *
 * Modes: `raw` (echo every frame; `/pair` answers every second frame with
 * both halves; `/first` greets like a wsrpc server), `json` (the JSON
 * floor, _json_floor.mjs), `wsrpc`,
 * `wsrpc-auth-webcrypto`, `wsrpc-auth-noble`, `wsrpc-auth-frames` (see _auth.ts),
 * `frames` (the JSON floor over wsrpc's frame layer, _frame_floor.ts), `capnweb`.
 */

import process from "node:process";
import { Server } from "../mod.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import { createHandler } from "../lib/bun.ts";
import { serverAuthenticator } from "./_auth.ts";
import { statsResponse } from "./_stats.ts";
import { GREETING, jsonFloorReply, spin } from "./_json_floor.mjs";
import { serveFrameFloor } from "./_frame_floor.ts";
import { BunSocket } from "../lib/_bun_socket.ts";

// deno-lint-ignore no-explicit-any
const Bun = (globalThis as any).Bun;
const mode = process.argv[2] ?? "raw";
/** Microseconds of busy-wait before each `json` reply (bench/amplify.ts); 0 normally. */
const SPIN_US = Number(process.env.FLOOR_SPIN_US ?? 0);
const FIRST = '{"header":{"command":"demo-ping-request","id":"0"},"payload":{"timestamp":1}}';

let sessions = (): number => 0;

// Bun.serve's options, loosely: this file runs under Bun, and Deno's checker knows no Bun types.
type Options = {
  // deno-lint-ignore no-explicit-any
  fetch(request: Request, server: any): unknown;
  // deno-lint-ignore no-explicit-any
  websocket: any;
};

async function makeOptions(): Promise<Options> {
  if (mode === "raw") {
    let open = 0;
    sessions = () => open;
    return {
      fetch: (request, server) =>
        server.upgrade(request, {
            data: { path: new URL(request.url).pathname, half: "" },
          })
          ? undefined
          : new Response("upgrade failed", { status: 400 }),
      websocket: {
        maxPayloadLength: 16 * 1024 * 1024,
        // deno-lint-ignore no-explicit-any
        open(ws: any) {
          open++;
          if (ws.data.path === "/first") ws.send(FIRST);
        },
        // deno-lint-ignore no-explicit-any
        message(ws: any, data: string) {
          if (ws.data.path !== "/pair") ws.send(data);
          else if (ws.data.half === "") ws.data.half = data;
          else {
            ws.send(ws.data.half + data);
            ws.data.half = "";
          }
        },
        close() {
          open--;
        },
      },
    };
  }
  if (mode === "json") {
    let open = 0;
    sessions = () => open;
    return {
      fetch: (request, server) =>
        server.upgrade(request) ? undefined : new Response("upgrade failed", { status: 400 }),
      websocket: {
        maxPayloadLength: 16 * 1024 * 1024,
        // deno-lint-ignore no-explicit-any
        open(ws: any) {
          open++;
          ws.send(GREETING);
        },
        // deno-lint-ignore no-explicit-any
        message(ws: any, data: string) {
          if (SPIN_US > 0) spin(SPIN_US);
          ws.send(jsonFloorReply(data));
        },
        close() {
          open--;
        },
      },
    };
  }
  if (mode === "frames") {
    let open = 0;
    sessions = () => open;
    return {
      fetch: (request, server) =>
        server.upgrade(request, { data: {} })
          ? undefined
          : new Response("upgrade failed", { status: 400 }),
      websocket: {
        maxPayloadLength: 16 * 1024 * 1024,
        // deno-lint-ignore no-explicit-any
        open(ws: any) {
          open++;
          ws.data.socket = new BunSocket(ws);
          serveFrameFloor(ws.data.socket);
          ws.data.socket.onOpen();
        },
        // deno-lint-ignore no-explicit-any
        message(ws: any, data: string) {
          ws.data.socket.onMessage(data);
        },
        // deno-lint-ignore no-explicit-any
        close(ws: any, code: number, reason: string) {
          open--;
          ws.data.socket.onClose(code, reason);
        },
        // deno-lint-ignore no-explicit-any
        drain(ws: any) {
          ws.data.socket.onDrain();
        },
      },
    };
  }
  if (mode.startsWith("wsrpc")) {
    const authenticator = serverAuthenticator(mode);
    const server = new Server(demoAPI, {
      handlers: demoHandlers,
      maxInFlight: 4096,
      maxConnections: 100_000,
      readLimit: 4 * 1024 * 1024,
      ...(authenticator ? { authenticator } : {}),
    });
    sessions = () => server.sessions.size;
    return createHandler(server) as unknown as Options;
  }
  if (mode === "capnweb") {
    // Bun resolves capnweb's "bun" export condition; Deno's checker sees the plain one.
    const { newBunWebSocketRpcHandler, RpcTarget } = await import(
      "capnweb"
    ) as unknown as {
      newBunWebSocketRpcHandler: (
        make: () => unknown,
        options: unknown,
      ) => object;
      RpcTarget: new () => object;
    };
    class Api extends RpcTarget {
      ping(p: { timestamp: number }) {
        return {
          origintimestamp: p.timestamp,
          timestamp: Math.floor(Date.now() / 1000),
        };
      }
      echo(v: unknown) {
        return v;
      }
    }
    return {
      fetch: (request, server) =>
        server.upgrade(request) ? undefined : new Response("upgrade failed", { status: 400 }),
      websocket: {
        ...newBunWebSocketRpcHandler(() => new Api(), {
          limits: { maxMessageSize: 4 * 1024 * 1024 },
        }),
        maxPayloadLength: 16 * 1024 * 1024,
      },
    };
  }
  throw new Error(`unknown mode ${mode}`);
}

const options = await makeOptions();
const bun = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  websocket: options.websocket,
  // deno-lint-ignore no-explicit-any
  fetch(request: Request, server: any) {
    const url = new URL(request.url);
    if (url.pathname === "/exit") {
      // Exits cleanly, so that `--cpu-prof` writes its profile.
      setTimeout(() => process.exit(0), 50);
      return new Response("bye\n");
    }
    if (url.pathname === "/stats") return statsResponse(url, sessions(), () => Bun.gc(true));
    return options.fetch(request, server);
  },
});
console.log(`READY ${bun.port}`);
