/**
 * Benchmark servers on Deno: `deno run -A --v8-flags=--expose-gc
 * bench/_server_deno.ts <mode>`. Listens on 127.0.0.1:0, prints
 * `READY <port>` and serves until killed. Every mode also answers
 * `GET /stats` with its own CPU time and memory (`?gc=1` collects first),
 * `GET /heap` with a heap snapshot (written to `$BENCH_HEAP_DIR`) and
 * `GET /exit` by exiting (so that `--cpu-prof` writes its profile).
 *
 * Modes: `raw` (echo every frame; `/pair` answers every second frame with
 * both halves), `json` (the JSON floor, _json_floor.mjs), `wsrpc`,
 * `wsrpc-auth-webcrypto`, `wsrpc-auth-noble`, `wsrpc-auth-frames`,
 * `wsrpc-auth-frames2` (see _auth.ts),
 * `frames` (the JSON floor over wsrpc's frame layer, _frame_floor.ts), `capnweb`, `birpc`.
 */

import v8 from "node:v8";
import { Server } from "../mod.ts";
import { statsResponse } from "./_stats.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import { upgradeWebSocket } from "../lib/deno.ts";
import { serverAuthenticator } from "./_auth.ts";
import { GREETING, jsonFloorReply, spin } from "./_json_floor.mjs";
import { serveFrameFloor } from "./_frame_floor.ts";

const mode = Deno.args[0] ?? "raw";
/** Microseconds of busy-wait before each `json` reply (bench/amplify.ts); 0 normally. */
const SPIN_US = Number(Deno.env.get("FLOOR_SPIN_US") ?? 0);
const FIRST = '{"header":{"command":"demo-ping-request","id":"0"},"payload":{"timestamp":1}}';

type WSHandler = (
  request: Request,
  info: Deno.ServeHandlerInfo,
) => Response | Promise<Response>;

/** Sockets open in the modes that keep no sessions of their own (raw, json, frames). */
let openSockets = 0;
/** What `/stats` reports as open sessions; the wsrpc modes ask their server. */
let sessions = (): number => openSockets;

/** Upgrades `request`, counting the socket while it is open (for `/stats`). */
function upgradeCounted(request: Request): { socket: WebSocket; response: Response } {
  const upgraded = Deno.upgradeWebSocket(request);
  upgraded.socket.addEventListener("open", () => openSockets++);
  upgraded.socket.addEventListener("close", () => openSockets--);
  return upgraded;
}

async function makeHandler(): Promise<WSHandler> {
  if (mode === "raw") {
    return (request) => {
      const { socket, response } = upgradeCounted(request);
      const path = new URL(request.url).pathname;
      const pair = path === "/pair";
      let half: string | undefined;
      // `/first`: greet like a wsrpc server (its ping, id "0"), so that a
      // wsrpc client can use the echo server to measure the client alone.
      if (path === "/first") socket.onopen = () => socket.send(FIRST);
      socket.onmessage = pair
        ? (e) => {
          if (half === undefined) half = e.data;
          else {
            socket.send(half + e.data);
            half = undefined;
          }
        }
        : (e) => socket.send(e.data);
      return response;
    };
  }
  if (mode === "json") {
    return (request) => {
      const { socket, response } = upgradeCounted(request);
      socket.onopen = () => socket.send(GREETING);
      socket.onmessage = (e) => {
        if (SPIN_US > 0) spin(SPIN_US);
        socket.send(jsonFloorReply(e.data));
      };
      return response;
    };
  }
  if (mode === "frames") {
    return (request) => {
      const { socket, response } = upgradeCounted(request);
      serveFrameFloor(socket);
      return response;
    };
  }
  if (mode.startsWith("wsrpc")) {
    const authenticator = serverAuthenticator(mode);
    const server = new Server(demoAPI, {
      handlers: demoHandlers,
      maxInFlight: 4096,
      maxConnections: 100_000,
      readLimit: 4 * 1024 * 1024,
      ...(Deno.env.get("BENCH_NO_TIMEOUT") ? { requestTimeoutMs: 0 } : {}),
      ...(authenticator ? { authenticator } : {}),
    });
    sessions = () => server.sessions.size;
    return (request, info) => upgradeWebSocket(server, request, info);
  }
  if (mode === "capnweb") {
    // Peers are dev-only: npm specifiers here, never in the library's deno.json.
    // deno-lint-ignore no-import-prefix
    const { newWebSocketRpcSession, RpcTarget } = await import(
      "npm:capnweb@0.12.0"
    );
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
    return (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      newWebSocketRpcSession(socket as never, new Api(), {
        limits: { maxMessageSize: 4 * 1024 * 1024 },
      });
      return response;
    };
  }
  if (mode === "birpc") {
    // Peers are dev-only: npm specifiers here, never in the library's deno.json.
    // deno-lint-ignore no-import-prefix
    const { createBirpc } = await import("npm:birpc@4.2.0");
    const functions = {
      ping: (p: { timestamp: number }) => ({
        origintimestamp: p.timestamp,
        timestamp: Math.floor(Date.now() / 1000),
      }),
      echo: (v: unknown) => v,
    };
    return (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      const rpc = createBirpc<Record<string, never>, typeof functions>(
        functions,
        {
          post: (data) => socket.send(data),
          on: (fn) => socket.addEventListener("message", (e) => fn(e.data)),
          serialize: JSON.stringify,
          deserialize: JSON.parse,
          timeout: 60_000,
        },
      );
      socket.addEventListener("close", () => rpc.$close());
      return response;
    };
  }
  throw new Error(`unknown mode ${mode}`);
}

const handleWS = await makeHandler();

const http = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  (request, info) => {
    const url = new URL(request.url);
    if (url.pathname === "/exit") {
      // Exits cleanly, so that `--cpu-prof` writes its profile.
      setTimeout(() => Deno.exit(0), 50);
      return new Response("bye\n");
    }
    if (url.pathname === "/heap") {
      // A heap snapshot mid-run (bench/profile.ts --heap), into $BENCH_HEAP_DIR.
      const dir = Deno.env.get("BENCH_HEAP_DIR") ?? ".";
      const file = v8.writeHeapSnapshot(
        `${dir}/server-${Date.now()}.heapsnapshot`,
      );
      return new Response(`${file}\n`);
    }
    if (url.pathname === "/stats") return statsResponse(url, sessions());
    return handleWS(request, info);
  },
);
console.log(`READY ${http.addr.port}`);
