/**
 * The Deno adapter: mount a {@linkcode Server} in `Deno.serve`, or in any
 * fetch-style handler that runs on Deno (Deno Deploy, Supabase Edge
 * Functions).
 *
 * Cross-origin stance: browsers may open WebSockets to any origin, so the
 * server checks `Origin` (same-origin by default, or `ServerOptions.origins`);
 * requests without `Origin` (non-browser clients) are accepted.
 *
 * @example
 * ```ts ignore
 * import { defineAPI, Server, unchecked, type PingRequest, type PingResponse } from "@wsrpc/protocol";
 * import { createHandler } from "@wsrpc/protocol/deno";
 *
 * const api = defineAPI({
 *   "demo-ping-request": unchecked<PingRequest>(),
 *   "demo-ping-response": unchecked<PingResponse>(),
 * });
 * const server = new Server(api, {
 *   handlers: { "demo-ping-request": ({ timestamp }) => ({ origintimestamp: timestamp, timestamp: 0 }) },
 * });
 * Deno.serve({ port: 8080 }, createHandler(server, { path: "/v1/ws" }));
 * ```
 *
 * @module
 */

import type { API } from "./api.ts";
import type { Server } from "./server.ts";
import { type AdapterOptions, routeRequest } from "./_route.ts";

export type { AdapterOptions };

/**
 * Options for {@linkcode createHandler}.
 *
 * @deprecated Use {@linkcode AdapterOptions}, the name both adapters share.
 */
export type HandlerOptions = AdapterOptions;

/**
 * Upgrades one request to a WebSocket served by `server`, or answers it with
 * the server's refusal (426, 421, 403, 503), or 400 when the upgrade is
 * half-formed (Deno's own check fails: no `Connection: Upgrade`, no
 * `Sec-WebSocket-Key`, ...); nothing is logged for a refusal.
 *
 * @param server The server.
 * @param request The HTTP request.
 * @param info `Deno.serve`'s second handler argument, for the client address.
 * @returns The response to return from the handler.
 *
 * @example
 * ```ts ignore
 * import { upgradeWebSocket } from "@wsrpc/protocol/deno";
 * import { server } from "./my_server.ts";
 *
 * Deno.serve((req, info) => new URL(req.url).pathname === "/v1/ws"
 *   ? upgradeWebSocket(server, req, info)
 *   : new Response("hello"));
 * ```
 */
export function upgradeWebSocket<A extends API>(
  server: Server<A>,
  request: Request,
  info?: Deno.ServeHandlerInfo,
): Response {
  return upgrade(server, request, info).response;
}

/** The upgrade, and the session it started (`ended` resolves when it ends). */
function upgrade<A extends API>(
  server: Server<A>,
  request: Request,
  info: Deno.ServeHandlerInfo | undefined,
): { response: Response; ended?: Promise<void> } {
  const refusal = server.checkRequest(request);
  if (refusal !== undefined) return { response: refusal };
  // Read the address first: after the upgrade, Deno no longer exposes it.
  const addr = info?.remoteAddr as Deno.NetAddr | undefined;
  // Deno consumes the request in the upgrade: its headers then throw
  // "Request closed". The session keeps a copy that stays readable.
  const kept = new Request(request.url, { method: request.method, headers: request.headers });
  let upgraded: { socket: WebSocket; response: Response };
  try {
    const protocol = server.selectProtocol(request);
    upgraded = Deno.upgradeWebSocket(request, protocol === undefined ? {} : { protocol });
  } catch (error) {
    // A half-formed upgrade (no `Connection: Upgrade`, no key, ...) is the
    // client's error: answer 400 instead of letting Deno.serve log a 500.
    if (!(error instanceof TypeError)) throw error;
    return {
      response: new Response(
        `Bad WebSocket upgrade: ${error.message}
`,
        { status: 400 },
      ),
    };
  }
  const ended = server.serveSocket(upgraded.socket, {
    request: kept,
    ...(addr?.hostname === undefined ? {} : { remoteAddr: `${addr.hostname}:${addr.port}` }),
  });
  return { response: upgraded.response, ended };
}

/**
 * Makes a `Deno.serve` handler that upgrades requests to `server`.
 *
 * @param server The server.
 * @param options `path` to serve on and a `fallback` for other requests.
 * @returns A handler for `Deno.serve` (or `export default { fetch }`).
 *
 * @example
 * ```ts ignore
 * import { createHandler } from "@wsrpc/protocol/deno";
 * import { server } from "./my_server.ts";
 *
 * Deno.serve({ port: 8080 }, createHandler(server, { path: "/v1/ws" }));
 * ```
 */
export function createHandler<A extends API>(
  server: Server<A>,
  options: AdapterOptions = {},
): (request: Request, info?: Deno.ServeHandlerInfo) => Response | Promise<Response> {
  return (request, info) =>
    routeRequest(request, options) ?? upgradeWebSocket(server, request, info);
}

/**
 * Options for {@linkcode serve}: where to listen, routing, and how the
 * listener recovers when the process runs out of file descriptors.
 *
 * @example
 * ```ts
 * import { Server } from "@wsrpc/protocol";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 * import { serve, type ServeOptions } from "@wsrpc/protocol/deno";
 * import assert from "node:assert/strict";
 *
 * const options: ServeOptions = { hostname: "127.0.0.1", port: 0, path: "/v1/ws", retryDelayMs: 500 };
 * const http = serve(new Server(demoAPI, { handlers: demoHandlers }), options);
 * assert.equal(http.addr.hostname, "127.0.0.1");
 * await http.shutdown();
 * ```
 */
export interface ServeOptions extends AdapterOptions {
  /** The address to listen on. @default {"0.0.0.0"} */
  hostname?: string;
  /** The port; 0 picks a free one (kept when the listener restarts). @default {8000} */
  port?: number;
  /** Aborting it shuts the HTTP server down, as {@linkcode WsrpcHttpServer.shutdown} does. */
  signal?: AbortSignal;
  /** Called once, when the server first listens. */
  onListen?: (addr: Deno.NetAddr) => void;
  /**
   * Time between a failed listener (e.g. `Too many open files`) and the next
   * attempt to listen on the same address; new connections are refused
   * meanwhile.
   *
   * @default {1_000}
   */
  retryDelayMs?: number;
  /**
   * How long a failed listener's open WebSocket sessions keep being served
   * before the listener is closed to free its descriptors, with its sessions
   * and its connections that never finished an HTTP request. A failed
   * listener without sessions is closed at once.
   *
   * @default {10_000}
   */
  shedAfterMs?: number;
  /**
   * Reports a listener failure, once per failure, without a stack trace.
   *
   * @default {a one-line console.error}
   */
  onListenError?: (error: Error) => void;
}

/**
 * The HTTP server {@linkcode serve} runs.
 *
 * @example
 * ```ts
 * import { Server } from "@wsrpc/protocol";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 * import { serve, type WsrpcHttpServer } from "@wsrpc/protocol/deno";
 * import assert from "node:assert/strict";
 *
 * const server = new Server(demoAPI, { handlers: demoHandlers });
 * const http: WsrpcHttpServer = serve(server, { hostname: "127.0.0.1", port: 0 });
 * assert.ok(http.addr.port > 0);
 * await server.shutdown();
 * await http.shutdown();
 * await http.finished;
 * ```
 */
export interface WsrpcHttpServer extends AsyncDisposable {
  /** The address it listens on. */
  readonly addr: Deno.NetAddr;
  /** Resolves once {@linkcode WsrpcHttpServer.shutdown} has finished. */
  readonly finished: Promise<void>;
  /**
   * Stops listening and waits for open HTTP requests and upgraded sockets to
   * end (shut the wsrpc `Server` down first to close its sessions).
   */
  shutdown(): Promise<void>;
}

/**
 * Runs `server` under `Deno.serve` and keeps it listening when the process
 * runs out of file descriptors. `Deno.serve` alone stops accepting for good
 * and rejects its `finished` promise when `accept` fails (`Too many open
 * files`), which ends the process if nobody handles it; and it never closes a
 * connection that has not finished its HTTP request, so a flood of silent
 * TCP connections holds every descriptor. Here a failed listener is reported
 * in one line, new connections are refused for `retryDelayMs`, then the same
 * address is listened on again; the failed listener's connections that never
 * finished a request are closed (shed) as soon as it has no open session, and
 * after `shedAfterMs` at the latest.
 *
 * @param server The wsrpc server.
 * @param options Address, routing (`path`, `fallback`) and recovery.
 * @returns The running HTTP server.
 *
 * @example Serving, and being refused over the wrong path
 * ```ts
 * import { Server } from "@wsrpc/protocol";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 * import { serve } from "@wsrpc/protocol/deno";
 * import assert from "node:assert/strict";
 *
 * const server = new Server(demoAPI, { handlers: demoHandlers });
 * const http = serve(server, { hostname: "127.0.0.1", port: 0, path: "/v1/ws" });
 * const response = await fetch(`http://127.0.0.1:${http.addr.port}/other`);
 * assert.equal(response.status, 404);
 * await response.body?.cancel();
 * await server.shutdown();
 * await http.shutdown();
 * ```
 */
export function serve<A extends API>(
  server: Server<A>,
  options: ServeOptions = {},
): WsrpcHttpServer {
  const hostname = options.hostname ?? "0.0.0.0";
  const retryDelayMs = options.retryDelayMs ?? 1_000;
  const shedAfterMs = options.shedAfterMs ?? 10_000;
  const report = options.onListenError ??
    ((error: Error) =>
      console.error(
        `wsrpc: the listener on ${hostname}:${port} failed (${error.message}); ` +
          `refusing connections, listening again in ${retryDelayMs} ms`,
      ));

  /** One `Deno.serve` and the sessions it upgraded. */
  interface Listener {
    http: Deno.HttpServer<Deno.NetAddr>;
    abort: AbortController;
    sessions: number;
    failed: boolean;
    shedTimer?: ReturnType<typeof setTimeout>;
  }
  const listeners = new Set<Listener>();
  let current: Listener;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let stopping: Promise<void> | undefined;

  const shed = (listener: Listener) => {
    clearTimeout(listener.shedTimer);
    listeners.delete(listener);
    listener.abort.abort();
  };

  const listen = (port: number): Listener => {
    const listener: Listener = {
      abort: new AbortController(),
      sessions: 0,
      failed: false,
    } as Listener;
    const handle = (
      request: Request,
      info: Deno.ServeHandlerInfo,
    ): Response | Promise<Response> => {
      const routed = routeRequest(request, options);
      if (routed !== undefined) return routed;
      const { response, ended } = upgrade(server, request, info);
      if (ended !== undefined) {
        listener.sessions++;
        void ended.finally(() => {
          if (--listener.sessions === 0 && listener.failed) shed(listener);
        });
      }
      return response;
    };
    listener.http = Deno.serve(
      { hostname, port, signal: listener.abort.signal, onListen: () => {} },
      handle,
    );
    listeners.add(listener);
    listener.http.finished.then(
      () => listeners.delete(listener),
      (error: Error) => fail(listener, error),
    );
    return listener;
  };

  const fail = (listener: Listener, error: Error) => {
    listener.failed = true;
    if (stopping !== undefined) return shed(listener);
    report(error);
    if (listener.sessions === 0) shed(listener);
    else listener.shedTimer = setTimeout(() => shed(listener), shedAfterMs);
    if (listener === current) relistenLater();
  };

  const relistenLater = () => {
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      if (stopping !== undefined) return;
      try {
        current = listen(port);
      } catch (error) {
        // Still out of descriptors (or the port was taken): try again later.
        report(error as Error);
        relistenLater();
      }
    }, retryDelayMs);
  };

  current = listen(options.port ?? 8000);
  const addr = current.http.addr;
  const port = addr.port;
  options.onListen?.(addr);

  const finished = Promise.withResolvers<void>();
  const shutdown = (): Promise<void> =>
    stopping ??= (async () => {
      clearTimeout(retryTimer);
      const open = [...listeners];
      await Promise.all(open.map((l) => l.failed ? shed(l) : l.http.shutdown()));
      await Promise.allSettled(open.map((l) => l.http.finished));
      finished.resolve();
    })();
  options.signal?.addEventListener("abort", () => void shutdown(), { once: true });
  return {
    addr,
    finished: finished.promise,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}
