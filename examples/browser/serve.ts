/**
 * Serves the browser example: `deno run -A examples/browser/serve.ts
 * [--port 8080]`, then open the printed URL.
 *
 * It bundles `app.ts` for the browser with `deno bundle`, serves
 * `index.html` (with the server's public key filled in), `/app.js`, and the
 * demo API on `/v1/ws` with the ed25519 handshake. The page is same-origin
 * with the WebSocket, so the server's default origin check admits it.
 * `startBrowserDemo` is exported for the browser test.
 */
import { parseArgs } from "node:util";
import { encodeHex, generateKeyPair } from "../../lib/ed25519.ts";
import { Server, type Session } from "../../mod.ts";
import { ed25519Server } from "../../lib/ed25519_authenticator.ts";
import { createHandler } from "../../lib/deno.ts";
import { demoAPI, demoHandlers } from "../../lib/demo.ts";

/** A running example server. */
export interface BrowserDemo extends AsyncDisposable {
  /** The page's URL. */
  url: string;
  /** Sessions that passed the handshake, in order. */
  sessions: Session<typeof demoAPI>[];
  /** Shuts the server down. */
  close(): Promise<void>;
}

/** Bundles `app.ts` and serves the example on `hostname:port` (port 0: any free port). */
export async function startBrowserDemo(
  options: { hostname?: string; port?: number } = {},
): Promise<BrowserDemo> {
  const here = new URL(".", import.meta.url).pathname;
  const dir = await Deno.makeTempDir({ prefix: "wsrpc-browser-example-" });
  let script: string;
  try {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform", "browser", "-o", `${dir}/app.js`, `${here}app.ts`],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (code !== 0) throw new Error(`deno bundle failed: ${new TextDecoder().decode(stderr)}`);
    script = await Deno.readTextFile(`${dir}/app.js`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }

  const serverKey = await generateKeyPair();
  const html = (await Deno.readTextFile(`${here}index.html`))
    .replace("{{SERVER_KEY}}", encodeHex(serverKey.publicKey));
  const sessions: Session<typeof demoAPI>[] = [];
  const server = new Server(demoAPI, {
    handlers: demoHandlers,
    authenticator: ed25519Server({ secretKey: serverKey.secretKey, message: "wsrpc browser" }),
    onSessionOpen: (session) => sessions.push(session),
  });
  const ws = createHandler(server, { path: "/v1/ws" });
  const http = Deno.serve(
    { hostname: options.hostname ?? "127.0.0.1", port: options.port ?? 8080, onListen: () => {} },
    (request, info) => {
      switch (new URL(request.url).pathname) {
        case "/":
          return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
        case "/app.js":
          return new Response(script, { headers: { "content-type": "text/javascript" } });
        case "/v1/ws":
          return ws(request, info);
        default:
          return new Response("Not found\n", { status: 404 });
      }
    },
  );
  const close = async () => {
    await server.shutdown({ graceMs: 0 });
    await http.shutdown();
  };
  return {
    url: `http://${http.addr.hostname}:${http.addr.port}/`,
    sessions,
    close,
    [Symbol.asyncDispose]: close,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { port: { type: "string", default: "8080" }, host: { type: "string" } },
  });
  const demo = await startBrowserDemo({
    port: Number(values.port),
    ...(values.host === undefined ? {} : { hostname: values.host }),
  });
  console.log(`open ${demo.url}`);
}
