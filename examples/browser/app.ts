/**
 * The browser page's script (bundled to `/app.js` by `serve.ts`): makes an
 * ed25519 key with WebCrypto, connects to the page's own server with the
 * ed25519 handshake (pinning the server key from the page's `<meta>`), calls
 * the demo API, and logs each step on the page. The outcome is also left in
 * `globalThis.wsrpcDemo` for automated checks.
 */
import { Conn, ed25519Client, ProtocolError } from "../../mod.ts";
import { generateKeyPair } from "../../lib/ed25519.ts";
import { demoAPI } from "../../lib/demo.ts";

/** The part of the DOM this script uses (typed here: Deno's type check has no DOM lib). */
interface PageDocument {
  title: string;
  getElementById(id: string): { textContent: string | null } | null;
  querySelector(selector: string): { getAttribute(name: string): string | null } | null;
}
const document = (globalThis as unknown as { document: PageDocument }).document;

const lines: string[] = [];
function log(line: string): void {
  lines.push(line);
  document.getElementById("log")!.textContent = lines.join("\n");
}

async function main(): Promise<{ publicKey: string }> {
  const serverKey = document.querySelector('meta[name="wsrpc-server-key"]')
    ?.getAttribute("content");
  const { secretKey, publicKey } = await generateKeyPair();
  log(`my key: ${publicKey.toHex()}`);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  await using conn = new Conn(`${scheme}://${location.host}/v1/ws`, {
    api: demoAPI,
    authenticator: ed25519Client({
      secretKey,
      userAgent: "wsrpc-browser-example",
      ...(serverKey ? { serverPublicKey: serverKey } : {}),
    }),
  });
  await conn.connect();
  log(`connected, server key ${serverKey ? "verified" : "not pinned"}`);
  const pong = await conn.call("demo-ping-request", { timestamp: Math.floor(Date.now() / 1000) });
  log(`ping  -> ${JSON.stringify(pong)}`);
  await conn.call("demo-notify-request", { count: 2 });
  for (let i = 0; i < 2; i++) log(`push  -> ${JSON.stringify((await conn.read()).payload)}`);
  try {
    await conn.call("demo-fail-request", {});
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    log(`error -> ${error.message}`);
  }
  return { publicKey: publicKey.toHex() };
}

const state = globalThis as unknown as { wsrpcDemo: unknown };
main().then(
  ({ publicKey }) => {
    log("done");
    state.wsrpcDemo = { ok: true, publicKey, log: lines };
  },
  (error) => {
    log(`failed: ${error}`);
    state.wsrpcDemo = { ok: false, error: String(error), log: lines };
  },
);
