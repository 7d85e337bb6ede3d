/**
 * Helpers shared by the reliability scenarios: a seeded PRNG, a server on an
 * ephemeral port of 127.0.0.1, a raw WebSocket client over TCP (for clients
 * that misbehave below the WebSocket API), a subprocess server, percentiles
 * and memory figures.
 *
 * @module
 */

import v8 from "node:v8";
import vm from "node:vm";
import { type API, defineAPI, type Handlers, Server, type ServerOptions } from "../mod.ts";
import { demoAPI, type DemoDefinition, demoHandlers } from "../lib/demo.ts";
import { createHandler } from "../lib/deno.ts";
import { unchecked } from "../lib/api.ts";

/** mulberry32: a small seeded PRNG, deterministic across runs and runtimes. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The demo API plus one command for the slow-consumer scenario. */
export type StressDefinition = DemoDefinition & {
  "stress-push-request": ReturnType<typeof unchecked<{ count: number; size: number }>>;
  "stress-push-response": ReturnType<typeof unchecked<{ sent: number }>>;
  "stress-blob-notification": ReturnType<typeof unchecked<{ seq: number; data: string }>>;
};

/** The demo commands, plus `stress-push-request` that pushes `count` blobs of `size` bytes. */
export const stressAPI: API<StressDefinition> = defineAPI({
  ...demoAPI.definition,
  "stress-push-request": unchecked<{ count: number; size: number }>(),
  "stress-push-response": unchecked<{ sent: number }>(),
  "stress-blob-notification": unchecked<{ seq: number; data: string }>(),
}) as API<StressDefinition>;

/** Counters the stress handlers keep. */
export interface Counters {
  /** Requests received, by command. */
  received: Record<string, number>;
  /** Handlers whose signal aborted (the client went away or the server closed it). */
  aborted: number;
  /** Handlers running now. */
  running: number;
  /** Pushes written by `stress-push-request`, and the first push error seen. */
  pushed: number;
  pushError: string;
}

/** The demo handlers wrapped to count, plus `stress-push-request`. */
export function stressHandlers(
  counters: Counters,
  onRequest?: (command: string, id: string, sessionId: string) => void,
): Handlers<API<StressDefinition>> {
  const handlers: Record<string, (payload: never, ctx: never) => unknown> = {};
  const base = demoHandlers as Record<string, (p: unknown, c: unknown) => unknown>;
  for (const [command, handle] of Object.entries(base)) {
    handlers[command] = (async (
      payload: unknown,
      ctx: { id: string; signal: AbortSignal; session: { id: string } },
    ) => {
      counters.received[command] = (counters.received[command] ?? 0) + 1;
      onRequest?.(command, ctx.id, ctx.session.id);
      counters.running++;
      const onAbort = () => counters.aborted++;
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      try {
        return await handle(payload, ctx);
      } finally {
        ctx.signal.removeEventListener("abort", onAbort);
        counters.running--;
      }
    }) as never;
  }
  handlers["stress-push-request"] = (async (
    payload: { count: number; size: number },
    ctx: { session: { push(c: string, p: unknown): Promise<void> } },
  ) => {
    counters.received["stress-push-request"] = (counters.received["stress-push-request"] ?? 0) +
      1;
    const size = Math.min(Math.max(0, Number(payload?.size) || 0), 1 << 20);
    const count = Math.min(Math.max(0, Number(payload?.count) || 0), 1_000_000);
    const data = "x".repeat(size);
    let sent = 0;
    try {
      for (; sent < count; sent++) {
        await ctx.session.push("stress-blob-notification", { seq: sent, data });
        counters.pushed++;
      }
    } catch (error) {
      counters.pushError ||= String(error);
    }
    return { sent };
  }) as never;
  return handlers as Handlers<API<StressDefinition>>;
}

/** Fresh counters. */
export function newCounters(): Counters {
  return { received: {}, aborted: 0, running: 0, pushed: 0, pushError: "" };
}

/** A stress server on 127.0.0.1:0. */
export interface TestServer {
  server: Server<API<StressDefinition>>;
  counters: Counters;
  url: string;
  port: number;
  /** Shuts the wsrpc server and the HTTP server down. */
  close(): Promise<void>;
}

/** Starts a stress server in this process with the given limits. */
export function startServer(
  options: Omit<ServerOptions<API<StressDefinition>>, "handlers"> = {},
): TestServer {
  const counters = newCounters();
  const server = new Server(stressAPI, {
    onError: () => {},
    ...options,
    handlers: stressHandlers(counters),
  });
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    createHandler(server, { path: "/v1/ws" }),
  );
  const port = http.addr.port;
  return {
    server,
    counters,
    port,
    url: `ws://127.0.0.1:${port}/v1/ws`,
    async close() {
      await server.shutdown({ graceMs: 0 });
      await http.shutdown();
    },
  };
}

const encoder = new TextEncoder();

/**
 * A WebSocket client over a raw TCP socket: it speaks the upgrade and frames
 * by hand, so a scenario can stop reading, stop mid-frame or vanish without a
 * close frame.
 */
export class RawClient {
  readonly tcp: Deno.TcpConn;
  /** The HTTP status of the upgrade response. */
  status = 0;
  #closed = false;

  readonly #host: string;

  private constructor(tcp: Deno.TcpConn, host: string) {
    this.tcp = tcp;
    this.#host = host;
  }

  /** Opens a TCP connection; `upgrade` false leaves the HTTP request unsent. */
  static async connect(
    port: number,
    options: { path?: string; upgrade?: boolean; headers?: Record<string, string> } = {},
  ): Promise<RawClient> {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
    const client = new RawClient(tcp, `127.0.0.1:${port}`);
    if (options.upgrade !== false) await client.upgrade(options.path, options.headers);
    return client;
  }

  /** Sends the upgrade request and reads the response head (not the body). */
  async upgrade(path = "/v1/ws", headers: Record<string, string> = {}): Promise<number> {
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    await this.write(
      encoder.encode(
        `GET ${path} HTTP/1.1\r\nHost: ${this.#host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
      ),
    );
    // Read byte by byte up to the end of the head so no frame is consumed.
    const head: number[] = [];
    const one = new Uint8Array(1);
    while (head.length < 8192) {
      const n = await this.tcp.read(one);
      if (n === null) break;
      head.push(one[0]!);
      const l = head.length;
      if (
        l >= 4 && head[l - 4] === 13 && head[l - 3] === 10 && head[l - 2] === 13 &&
        head[l - 1] === 10
      ) {
        break;
      }
    }
    const text = new TextDecoder().decode(new Uint8Array(head));
    this.status = Number(text.match(/^HTTP\/1\.1 (\d{3})/)?.[1] ?? 0);
    return this.status;
  }

  /** Writes raw bytes. */
  async write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.tcp.write(bytes.subarray(off));
  }

  /** Sends one masked text frame (RFC 6455 §5.2). */
  async sendText(text: string): Promise<void> {
    await this.write(frame(1, encoder.encode(text)));
  }

  /** Sends the first `cut` bytes of a masked text frame, as a client that dies mid-frame. */
  async sendPartialText(text: string, cut: number): Promise<void> {
    await this.write(frame(1, encoder.encode(text)).subarray(0, cut));
  }

  /** Reads one frame's opcode and payload (small frames only; for tests). */
  async readFrame(): Promise<{ opcode: number; payload: Uint8Array } | undefined> {
    const head = await this.#readExactly(2);
    if (head === undefined) return undefined;
    let len = head[1]! & 0x7f;
    if (len === 126) {
      const b = await this.#readExactly(2);
      if (b === undefined) return undefined;
      len = (b[0]! << 8) | b[1]!;
    } else if (len === 127) {
      const b = await this.#readExactly(8);
      if (b === undefined) return undefined;
      len = Number(new DataView(b.buffer).getBigUint64(0));
    }
    const payload = await this.#readExactly(len);
    if (payload === undefined) return undefined;
    return { opcode: head[0]! & 0x0f, payload };
  }

  /** Reads frames until a close frame; returns its code (1006 at EOF). */
  async readUntilClose(): Promise<number> {
    for (;;) {
      const f = await this.readFrame().catch(() => undefined);
      if (f === undefined) return 1006;
      if (f.opcode === 8) {
        return f.payload.length >= 2 ? (f.payload[0]! << 8) | f.payload[1]! : 1005;
      }
    }
  }

  async #readExactly(n: number): Promise<Uint8Array | undefined> {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const got = await this.tcp.read(out.subarray(off));
      if (got === null) return undefined;
      off += got;
    }
    return out;
  }

  /** Drops the TCP connection without a close frame; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.tcp.close();
    } catch {
      // already closed
    }
  }
}

/** A masked client frame. */
function frame(opcode: number, payload: Uint8Array): Uint8Array {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const out = new Uint8Array(2 + ext + 4 + len);
  out[0] = 0x80 | opcode;
  if (ext === 0) out[1] = 0x80 | len;
  else if (ext === 2) {
    out[1] = 0x80 | 126;
    out[2] = len >> 8;
    out[3] = len & 0xff;
  } else {
    out[1] = 0x80 | 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(len));
  }
  const mask = crypto.getRandomValues(new Uint8Array(4));
  out.set(mask, 2 + ext);
  const body = 2 + ext + 4;
  for (let i = 0; i < len; i++) out[body + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

/** The p-th percentile (0..100) of `values`, or NaN for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Megabytes with one decimal. */
export function mb(bytes: number): number {
  return Math.round(bytes / 1e5) / 10;
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every 10 ms until it is true or `ms` pass; returns its last value. */
export async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() >= until) return false;
    await sleep(10);
  }
  return true;
}

let collect: (() => void) | undefined;

/**
 * Runs a full garbage collection, so that heap figures are live data only.
 * Uses `gc` when started with `--v8-flags=--expose-gc`, else turns the flag
 * on at run time (`node:v8`) and takes `gc` from a fresh context.
 */
export function gc(): void {
  if (collect === undefined) {
    const global = (globalThis as { gc?: () => void }).gc;
    if (global !== undefined) collect = global;
    else {
      v8.setFlagsFromString("--expose-gc");
      collect = vm.runInNewContext("gc") as () => void;
    }
  }
  collect();
}

/** What `Object.prototype` and friends hold, to compare before and after hostile input. */
export function prototypeSnapshot(): string {
  const names = (o: object) => Reflect.ownKeys(o).map(String).sort().join(",");
  return [Object.prototype, Array.prototype, Function.prototype, String.prototype]
    .map(names).join("|");
}

/** Figures a subprocess server reports on `GET /stats`. */
export interface ServerStats {
  sessions: number;
  inFlight: number;
  rss: number;
  heapUsed: number;
  received: Record<string, number>;
  aborted: number;
  running: number;
  closedByCode: Record<string, number>;
  prototypeClean: boolean;
}

/** A stress server running as a child process (stress/serve.ts). */
export interface ChildServer {
  url: string;
  port: number;
  /** Lines `R <session> <id> <command>` seen so far (with `--log-requests`). */
  requests: string[];
  /** Fetches the server's figures. */
  stats(): Promise<ServerStats>;
  /** Sends a signal (SIGKILL to simulate a crash). */
  kill(signal?: Deno.Signal): void;
  /** Resolves when the process has exited and its output is drained. */
  exited: Promise<Deno.CommandStatus>;
}

/**
 * Spawns stress/serve.ts with `args`. With `nofile`, the child runs under
 * `bash -c 'ulimit -n N; exec deno ...'` (the soft limit is raised as far as
 * the hard limit allows).
 */
export async function spawnServer(
  args: string[],
  options: { nofile?: number } = {},
): Promise<ChildServer> {
  const script = new URL("./serve.ts", import.meta.url).pathname;
  const denoArgs = ["run", "-A", "--v8-flags=--expose-gc", script, ...args];
  const command = options.nofile === undefined
    ? new Deno.Command(Deno.execPath(), { args: denoArgs, stdout: "piped", stderr: "inherit" })
    : new Deno.Command("bash", {
      args: [
        "-c",
        `ulimit -n ${options.nofile} 2>/dev/null || ulimit -n $(ulimit -Hn); exec "$0" "$@"`,
        Deno.execPath(),
        ...denoArgs,
      ],
      stdout: "piped",
      stderr: "inherit",
    });
  const child = command.spawn();
  const requests: string[] = [];
  let resolveURL!: (url: string) => void;
  let rejectURL!: (error: Error) => void;
  const urlPromise = new Promise<string>((resolve, reject) => {
    resolveURL = resolve;
    rejectURL = reject;
  });
  const pump = forEachLine(child.stdout, (line) => {
    if (line.startsWith("R ")) requests.push(line);
    else if (line.startsWith("listening ")) resolveURL(line.slice(10));
  }).then(() => rejectURL(new Error("stress server exited before listening")));
  const exited = Promise.all([child.status, pump]).then(([status]) => status);
  const url = await urlPromise;
  const port = Number(new URL(url).port);
  return {
    url,
    port,
    requests,
    async stats() {
      const res = await fetch(`http://127.0.0.1:${port}/stats`);
      return await res.json() as ServerStats;
    },
    kill(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch {
        // already exited
      }
    },
    exited,
  };
}

/** Calls `onLine` with each line a child process writes, until its output ends. */
export async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      onLine(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  }
}
