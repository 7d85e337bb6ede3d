/**
 * Benchmark client for Deno and Bun: `deno run -A bench/_client.ts '<spec>'`
 * or `bun bench/_client.ts '<spec>'`. Runs one scenario against one server
 * and prints its result as one JSON line.
 *
 * `spec.impl`: `raw` (the runtime's WebSocket, no RPC layer), `wsrpc`,
 * `capnweb`, `birpc`; `spec.auth`: `webcrypto` or `noble` for the ed25519
 * handshake (wsrpc only).
 */

import process from "node:process";
import { type Authenticator, Conn } from "../mod.ts";
import { demoAPI } from "../lib/demo.ts";
import { decodeMessage } from "../lib/framing.ts";
import { parseJSON, stringifyJSON } from "../lib/_json.ts";
import { ed25519Client } from "../lib/ed25519_authenticator.ts";
import { decodeKey, publicKeyFromSecret } from "../lib/ed25519_keys.ts";
import { CLIENT_SECRET, SERVER_SECRET } from "./_keys.ts";
import { rawConnect, runScenario } from "./_scenarios.mjs";

interface Adapter {
  ping(big?: boolean): Promise<unknown>;
  echo(text: string): Promise<unknown>;
  close(): Promise<void>;
}

const spec = JSON.parse(process.argv[2] ?? "{}");
const isDeno = "Deno" in globalThis;
const BIG = 9223372036854775809n;

async function wsrpcConnect(): Promise<(url: string) => Promise<Adapter>> {
  let authenticator: Authenticator | undefined;
  if (spec.auth === "webcrypto" || spec.auth === "noble") {
    const backend = spec.auth;
    const serverPublicKey = await publicKeyFromSecret(
      decodeKey(SERVER_SECRET),
      { backend },
    );
    authenticator = ed25519Client({
      secretKey: CLIENT_SECRET,
      serverPublicKey,
      backend,
    });
  }
  return async (url) => {
    const conn = new Conn(url, {
      api: demoAPI,
      readLimit: 4 * 1024 * 1024,
      ...(spec.noTimeout ? { callTimeoutMs: 0 } : {}),
      ...(authenticator ? { authenticator } : {}),
    });
    await conn.connect();
    return {
      ping: (big) => conn.call("demo-ping-request", { timestamp: big ? BIG : 1 } as never),
      echo: (text) => conn.call("demo-echo-request", text),
      close: () => conn.close(),
    };
  };
}

/** The ping and echo every peer's server implements. */
interface PeerApi {
  ping(p: { timestamp: number }): { origintimestamp: number; timestamp: number };
  echo(v: string): string;
}

/** A native WebSocket, open, and a promise of its close. */
async function openSocket(url: string): Promise<{ socket: WebSocket; closed: Promise<unknown> }> {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  return { socket, closed: new Promise((resolve) => socket.addEventListener("close", resolve)) };
}

async function capnwebConnect(): Promise<(url: string) => Promise<Adapter>> {
  const { newWebSocketRpcSession } = await import(
    isDeno ? "npm:capnweb@0.12.0" : "capnweb"
  ) as typeof import("npm:capnweb@0.12.0");
  return async (url) => {
    const { socket, closed } = await openSocket(url);
    // deno-lint-ignore no-explicit-any
    const stub: any = newWebSocketRpcSession<PeerApi & never>(socket, undefined, {
      limits: { maxMessageSize: 4 * 1024 * 1024 },
    });
    return {
      ping: () => stub.ping({ timestamp: 1 }),
      echo: (text) => stub.echo(text),
      close: async () => {
        stub[Symbol.dispose]();
        socket.close();
        await closed;
      },
    };
  };
}

async function birpcConnect(): Promise<(url: string) => Promise<Adapter>> {
  const { createBirpc } = await import(
    isDeno ? "npm:birpc@4.2.0" : "birpc"
  ) as typeof import("npm:birpc@4.2.0");
  return async (url) => {
    const { socket, closed } = await openSocket(url);
    const rpc = createBirpc<PeerApi>({}, {
      post: (data) => socket.send(data),
      on: (fn) => socket.addEventListener("message", (e) => fn(e.data)),
      serialize: JSON.stringify,
      deserialize: JSON.parse,
      timeout: 60_000,
    });
    return {
      ping: () => rpc.ping({ timestamp: 1 }),
      echo: (text) => rpc.echo(text),
      close: async () => {
        rpc.$close();
        socket.close();
        await closed;
      },
    };
  };
}

/** (g): the int64-lossless decode and encode paths against the plain ones, in ns per message. */
function codecMicrobench(n: number): Record<string, number> {
  const plain =
    '{"header":{"command":"demo-ping-response","id":"12345"},"payload":{"origintimestamp":1,"timestamp":1764000000}}';
  const big =
    '{"header":{"command":"demo-ping-response","id":"12345"},"payload":{"origintimestamp":9223372036854775809,"timestamp":1764000000}}';
  const plainValue = JSON.parse(plain);
  const bigValue = parseJSON(big);
  const cases: Record<string, () => unknown> = {
    "decode JSON.parse (plain)": () => JSON.parse(plain),
    "decode parseJSON (plain)": () => parseJSON(plain),
    "decode parseJSON (int64)": () => parseJSON(big),
    "decode parseJSON+decodeMessage (plain)": () => decodeMessage(demoAPI, parseJSON(plain)),
    "encode JSON.stringify (plain)": () => JSON.stringify(plainValue),
    "encode stringifyJSON (plain)": () => stringifyJSON(plainValue),
    "encode stringifyJSON (int64)": () => stringifyJSON(bigValue),
  };
  const out: Record<string, number> = {};
  let sink = 0;
  for (const [name, fn] of Object.entries(cases)) {
    for (let i = 0; i < n / 10; i++) sink += fn() === undefined ? 1 : 0; // warm up
    const t0 = performance.now();
    for (let i = 0; i < n; i++) sink += fn() === undefined ? 1 : 0;
    out[name] = ((performance.now() - t0) * 1e6) / n;
  }
  if (sink < 0) console.log(sink);
  return out;
}

let result: unknown;
if (spec.scenario === "codec") {
  const ns = codecMicrobench(spec.n);
  result = {
    ns,
    value: ns["decode parseJSON (int64)"]! / ns["decode parseJSON (plain)"]!,
    unit: "x",
  };
} else {
  const connect = spec.impl === "raw"
    ? rawConnect((url: string) => new WebSocket(url))
    : spec.impl === "wsrpc"
    ? await wsrpcConnect()
    : spec.impl === "capnweb"
    ? await capnwebConnect()
    : spec.impl === "birpc"
    ? await birpcConnect()
    : undefined;
  if (connect === undefined) throw new Error(`unknown impl ${spec.impl}`);
  result = await runScenario(spec, connect);
}
process.stdout.write(JSON.stringify(result) + "\n");
process.exit(0);
