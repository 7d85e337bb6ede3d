/**
 * Test helpers: a real `Deno.serve` server on an ephemeral port of
 * 127.0.0.1, and a raw WebSocket client that records what the server sends.
 */
import { type API, Server, type ServerOptions } from "../mod.ts";
import { createHandler } from "../lib/deno.ts";

/** A running test server; `close()` shuts it down and waits. */
export interface TestServer<A extends API> extends AsyncDisposable {
  server: Server<A>;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts `new Server(api, options)` under `Deno.serve` on 127.0.0.1, by default on port 0. */
export function startServer<A extends API>(
  api: A,
  options: ServerOptions<A>,
  { port = 0 }: { port?: number } = {},
): TestServer<A> {
  const server = new Server(api, options);
  const http = Deno.serve(
    { hostname: "127.0.0.1", port, onListen: () => {} },
    createHandler(server, { path: "/v1/ws" }),
  );
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      await server.shutdown({ graceMs: 0 });
      await http.shutdown();
    })();
  return {
    server,
    url: `ws://127.0.0.1:${http.addr.port}/v1/ws`,
    port: http.addr.port,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A raw WebSocket that queues every text frame it receives and its close status. */
export class RawClient implements AsyncDisposable {
  readonly socket: WebSocket;
  readonly frames: string[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: (() => void)[] = [];

  constructor(url: string, protocols?: string[]) {
    this.socket = new WebSocket(url, protocols);
    this.opened = new Promise((resolve, reject) => {
      this.socket.addEventListener("open", () => resolve(), { once: true });
      this.socket.addEventListener("error", () => reject(new Error("raw client: cannot connect")), {
        once: true,
      });
    });
    this.closed = new Promise((resolve) =>
      this.socket.addEventListener("close", (e) => {
        resolve({ code: e.code, reason: e.reason });
        this.#wake();
      })
    );
    this.socket.addEventListener("message", (e) => {
      this.frames.push(typeof e.data === "string" ? e.data : "<binary>");
      this.#wake();
    });
  }

  /** Waits for the next frame (as parsed JSON); rejects if the socket closes first. */
  async next(timeoutMs = 5_000): Promise<Record<string, unknown>> {
    const until = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.socket.readyState === WebSocket.CLOSED) throw new Error("raw client: closed");
      if (Date.now() > until) throw new Error("raw client: no frame in time");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, until - Date.now());
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return JSON.parse(this.frames.shift()!);
  }

  send(data: string | Uint8Array): void {
    this.socket.send(data);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.socket.readyState < WebSocket.CLOSING) this.socket.close();
    await this.closed;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/** Opens a raw client and consumes the server's first message (the ping with id "0"). */
export async function rawConnect(url: string): Promise<RawClient> {
  const client = new RawClient(url);
  await client.opened;
  const first = await client.next();
  if ((first.header as { id?: string }).id !== "0") {
    throw new Error(`expected the initial ping, got ${JSON.stringify(first)}`);
  }
  return client;
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 5 ms until true; throws after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error("waitFor: condition not met in time");
    await delay(5);
  }
}
