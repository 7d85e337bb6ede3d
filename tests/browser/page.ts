/**
 * The browser page's script, bundled by `deno bundle --platform browser`:
 * runs the interop scenario against the page's own server, once without
 * authentication and once with ed25519 (keys from the query string), and
 * publishes what it saw as `globalThis.wsrpcResults` for the driver.
 */
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
};
(globalThis as unknown as { wsrpcResults: unknown }).wsrpcResults = results;
document.title = "done";
