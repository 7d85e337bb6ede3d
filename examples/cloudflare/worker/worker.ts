/**
 * A plain Cloudflare Worker serving the demo API on /v1/ws: each socket is
 * accepted by the Worker itself (`WebSocketPair`, `accept()`) and served
 * while it stays open. `deno task cloudflare` runs it in workerd.
 *
 * @module
 */

import { Server } from "@wsrpc/protocol";
import { createHandler } from "@wsrpc/protocol/cloudflare";
import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";

const server = new Server(demoAPI, { handlers: demoHandlers, insecureSkipOriginCheck: true });

export default {
  fetch: createHandler(server, {
    path: "/v1/ws",
    fallback: () => new Response("wsrpc on a Cloudflare Worker: connect to /v1/ws\n"),
  }),
};
