/**
 * The wsrpc client on Node.js 22+, on Node's global `WebSocket`:
 *
 *     node examples/node/client.ts \
 *       ws://127.0.0.1:8080/v1/ws [--secret-key <hex> --server-key <hex>]
 *
 * Node 22.18+ runs this TypeScript file as is (type stripping); in a project,
 * install the package with `npx jsr add @wsrpc/protocol` and import
 * `@wsrpc/protocol`. Start a server with
 * `bun examples/bun/server.ts` or `deno task demo`.
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { Conn, ed25519Client, ProtocolError } from "../../mod.ts";
import { demoAPI } from "../../lib/demo.ts";

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    "secret-key": { type: "string" },
    "server-key": { type: "string" },
  },
});
const url = positionals[0] ?? "ws://127.0.0.1:8080/v1/ws";
const secretKey = values["secret-key"];

const conn = new Conn(url, {
  api: demoAPI,
  ...(secretKey === undefined ? {} : {
    authenticator: ed25519Client({
      secretKey,
      userAgent: `node/${process.versions.node}`,
      ...(values["server-key"] === undefined ? {} : { serverPublicKey: values["server-key"] }),
    }),
  }),
});
try {
  await conn.connect();
  console.log(`connected to ${url} from Node ${process.version}`);
  const pong = await conn.call("demo-ping-request", { timestamp: Math.floor(Date.now() / 1000) });
  console.log("ping  ->", JSON.stringify(pong));
  const echo = await conn.call("demo-echo-request", { big: 2n ** 63n + 1n });
  console.log(
    "echo  ->",
    typeof (echo as { big: unknown }).big === "bigint" ? "bigint kept" : echo,
  );
  await conn.call("demo-notify-request", { count: 2 });
  for (let i = 0; i < 2; i++) console.log("push  ->", JSON.stringify((await conn.read()).payload));
  try {
    await conn.call("demo-fail-request", {});
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    console.log("error ->", error.message);
  }
} finally {
  await conn.close();
}
