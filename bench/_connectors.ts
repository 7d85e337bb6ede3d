/**
 * How the benchmark clients connect, per implementation: `connectorFor(spec)`
 * gives `(url) => Promise<adapter>` (see _scenarios.mjs) for `spec.impl`:
 * `raw` (the runtime's WebSocket, no RPC layer), `json` (the JSON floor),
 * `frames` (the JSON floor over wsrpc's frame layer, _frame_floor.ts),
 * `wsrpc`, `capnweb`, `birpc`; `spec.auth` (wsrpc only): `webcrypto` or
 * `noble` for the ed25519 handshake, `frames` for its messages alone
 * (_auth.ts). Runs on Deno and Bun.
 *
 * @module
 */

import { Conn } from "../mod.ts";
import { demoAPI } from "../lib/demo.ts";
import { type BenchAuth, clientAuthenticator } from "./_auth.ts";
import { rawConnect } from "./_scenarios.mjs";
import { jsonFloorConnect } from "./_json_floor.mjs";
import { frameFloorConnect } from "./_frame_floor.ts";

/** What a scenario needs of a connection. */
export interface Adapter {
  ping(big?: boolean): Promise<unknown>;
  echo(text: string): Promise<unknown>;
  close(): Promise<void>;
}

/** The fields of a client spec the connectors read. */
export interface ConnectSpec {
  impl: string;
  auth?: BenchAuth;
  noTimeout?: boolean;
}

const isDeno = "Deno" in globalThis;
const BIG = 9223372036854775809n;

/** The connector for `spec.impl`. */
export async function connectorFor(
  spec: ConnectSpec,
): Promise<(url: string) => Promise<Adapter>> {
  if (spec.impl === "raw") {
    return rawConnect((url: string) => new WebSocket(url));
  }
  if (spec.impl === "json") {
    return jsonFloorConnect((url: string) => new WebSocket(url));
  }
  if (spec.impl === "frames") return frameFloorConnect;
  if (spec.impl === "wsrpc") return await wsrpcConnect(spec);
  if (spec.impl === "capnweb") return await capnwebConnect();
  if (spec.impl === "birpc") return await birpcConnect();
  throw new Error(`unknown impl ${spec.impl}`);
}

async function wsrpcConnect(
  spec: ConnectSpec,
): Promise<(url: string) => Promise<Adapter>> {
  const authenticator = await clientAuthenticator(spec.auth);
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
  ping(
    p: { timestamp: number },
  ): { origintimestamp: number; timestamp: number };
  echo(v: string): string;
}

/** A native WebSocket, open, and a promise of its close. */
async function openSocket(
  url: string,
): Promise<{ socket: WebSocket; closed: Promise<unknown> }> {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  return {
    socket,
    closed: new Promise((resolve) => socket.addEventListener("close", resolve)),
  };
}

async function capnwebConnect(): Promise<(url: string) => Promise<Adapter>> {
  const { newWebSocketRpcSession } = await import(
    isDeno ? "npm:capnweb@0.12.0" : "capnweb"
  ) as typeof import("npm:capnweb@0.12.0");
  return async (url) => {
    const { socket, closed } = await openSocket(url);
    // deno-lint-ignore no-explicit-any
    const stub: any = newWebSocketRpcSession<PeerApi & never>(
      socket,
      undefined,
      {
        limits: { maxMessageSize: 4 * 1024 * 1024 },
      },
    );
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
