/**
 * Benchmark servers on Bun: `bun bench/_server_bun.ts <mode>`. Listens on
 * 127.0.0.1:0, prints `READY <port>` and serves until killed; `GET /stats`
 * answers with its own CPU time and memory (`?gc=1` collects first).
 *
 * Modes: `raw` (echo every frame; `/pair` answers every second frame with
 * both halves; `/first` greets like a wsrpc server), `json` (the JSON
 * floor, _json_floor.mjs), `wsrpc`,
 * `wsrpc-auth-webcrypto`, `wsrpc-auth-noble`, `wsrpc-auth-frames`,
 * `wsrpc-auth-frames2` (see _auth.ts),
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

/** Sockets open in the modes that keep no sessions of their own (raw, json, frames). */
let openSockets = 0;
/** What `/stats` reports as open sessions; the wsrpc modes ask their server. */
let sessions = (): number => openSockets;

// Bun.serve's options, loosely: this file runs under Bun, and Deno's checker knows no Bun types.
type Options = {
  // deno-lint-ignore no-explicit-any
  fetch(request: Request, server: any): unknown;
  // deno-lint-ignore no-explicit-any
  websocket: any;
};
// deno-lint-ignore no-explicit-any
type BunWebSocket = any;

/** What a mode without sessions of its own does with each socket. */
interface SocketHandlers {
  open(ws: BunWebSocket): void;
  message(ws: BunWebSocket, data: string): void;
  close?(ws: BunWebSocket, code: number, reason: string): void;
  drain?(ws: BunWebSocket): void;
}

/**
 * Options that upgrade every request (with `data(request)` as the socket's
 * data, when given), count the open sockets for `/stats`, and hand each
 * socket to `handlers`.
 */
function countedOptions(
  handlers: SocketHandlers,
  data?: (request: Request) => object,
): Options {
  return {
    fetch: (request, server) =>
      (data ? server.upgrade(request, { data: data(request) }) : server.upgrade(request))
        ? undefined
        : new Response("upgrade failed", { status: 400 }),
    websocket: {
      maxPayloadLength: 16 * 1024 * 1024,
      ...handlers,
      open(ws: BunWebSocket) {
        openSockets++;
        handlers.open(ws);
      },
      close(ws: BunWebSocket, code: number, reason: string) {
        openSockets--;
        handlers.close?.(ws, code, reason);
      },
    },
  };
}

async function makeOptions(): Promise<Options> {
  if (mode === "raw") {
    return countedOptions({
      open(ws) {
        if (ws.data.path === "/first") ws.send(FIRST);
      },
      message(ws, data) {
        if (ws.data.path !== "/pair") ws.send(data);
        else if (ws.data.half === "") ws.data.half = data;
        else {
          ws.send(ws.data.half + data);
          ws.data.half = "";
        }
      },
    }, (request) => ({ path: new URL(request.url).pathname, half: "" }));
  }
  if (mode === "json") {
    return countedOptions({
      open(ws) {
        ws.send(GREETING);
      },
      message(ws, data) {
        if (SPIN_US > 0) spin(SPIN_US);
        ws.send(jsonFloorReply(data));
      },
    });
  }
  if (mode === "frames") {
    return countedOptions({
      open(ws) {
        ws.data.socket = new BunSocket(ws);
        serveFrameFloor(ws.data.socket);
        ws.data.socket.onOpen();
      },
      message(ws, data) {
        ws.data.socket.onMessage(data);
      },
      close(ws, code, reason) {
        ws.data.socket.onClose(code, reason);
      },
      drain(ws) {
        ws.data.socket.onDrain();
      },
    }, () => ({}));
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
