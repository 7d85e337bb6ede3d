/**
 * The browser page's script, bundled by `deno bundle --platform browser`:
 * runs the interop scenario against the page's own server, once without
 * authentication and once with ed25519 (keys from the query string), offers
 * WebSocket subprotocols, and publishes what it saw as
 * `globalThis.wsrpcResults` for the driver.
 */
import { Conn } from "../../lib/conn.ts";
import { demoAPI } from "../../lib/demo.ts";
import { attempt, refusedConnect, runScenario } from "../interop/_scenario.ts";

/** The part of the DOM this script uses (typed here: Deno's type check has no DOM lib). */
interface PageDocument {
  title: string;
  getElementById(id: string): { textContent: string | null } | null;
  querySelector(selector: string): { getAttribute(name: string): string | null } | null;
}
const document = (globalThis as unknown as { document: PageDocument }).document;

/** bigint is not JSON: report it as a string with an `n` suffix. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => typeof v === "bigint" ? `${v}n` : v));
}

/**
 * Connects offering `protocols`, makes a call, and returns the subprotocol the
 * browser's WebSocket negotiated (kept by a `webSocket` factory: `Conn` does
 * not expose its socket).
 */
async function subprotocol(
  url: string,
  protocols: string[],
): Promise<{ protocol: string; timestamp: number }> {
  let socket: WebSocket | undefined;
  const conn = new Conn(url, {
    api: demoAPI,
    protocols,
    connectTimeoutMs: 10_000,
    callTimeoutMs: 10_000,
    webSocket: (u, init) => (socket = new WebSocket(u, init.protocols)),
  });
  try {
    await conn.connect();
    const pong = await conn.call("demo-ping-request", { timestamp: 4321 });
    return { protocol: socket!.protocol, timestamp: pong.origintimestamp };
  } finally {
    await conn.close();
  }
}

const params = new URLSearchParams(location.search);
const url = `ws://${location.host}/v1/ws`;
const authURL = `ws://${location.host}/v1/ws-auth`;
const auth = {
  secretKey: params.get("key") ?? "",
  serverPublicKey: params.get("server") ?? "",
};

const results = {
  userAgent: navigator.userAgent,
  hasWebSocket: typeof WebSocket === "function",
  plain: plain(await attempt(() => runScenario(url))),
  authenticated: plain(await attempt(() => runScenario(authURL, auth))),
  wrongServerKey: await attempt(() =>
    refusedConnect(authURL, { ...auth, serverPublicKey: params.get("other") ?? "" })
  ),
  crossOrigin: await attempt(() => runScenario(params.get("foreign") ?? "")),
  // The server prefers wsrpc.v2 and also speaks wsrpc.v1: it picks wsrpc.v2.
  protocolChosen: await attempt(() =>
    subprotocol(`ws://${location.host}/v1/ws-proto`, ["wsrpc.v1", "wsrpc.v2"])
  ),
  // The same server, offered nothing it speaks, answers without a subprotocol.
  protocolNoneShared: await attempt(() =>
    subprotocol(`ws://${location.host}/v1/ws-proto`, ["chat", "superchat"])
  ),
  // Offering nothing: served without a subprotocol.
  protocolNotOffered: await attempt(() => subprotocol(`ws://${location.host}/v1/ws-proto`, [])),
};
(globalThis as unknown as { wsrpcResults: unknown }).wsrpcResults = results;
document.title = "done";
