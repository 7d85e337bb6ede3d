/**
 * The request routing both runtime adapters share: `path` (only it upgrades)
 * and `fallback` (answers what is not a WebSocket upgrade).
 *
 * @module
 */

/**
 * Routing options of both adapters' `createHandler` (`@wsrpc/protocol/deno`
 * and `@wsrpc/protocol/bun`): which path upgrades, and who answers the rest.
 *
 * @example One set of options for either runtime
 * ```ts
 * import { Server } from "@wsrpc/protocol";
 * import { type AdapterOptions, createHandler } from "@wsrpc/protocol/deno";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 * import assert from "node:assert/strict";
 *
 * const server = new Server(demoAPI, { handlers: demoHandlers });
 * const options: AdapterOptions = { path: "/v1/ws" };
 * const handle = createHandler(server, options);
 * assert.equal((await handle(new Request("http://localhost/other"))).status, 404); // not the path
 * assert.equal((await handle(new Request("http://localhost/v1/ws"))).status, 426); // not an upgrade
 * const withFallback = createHandler(server, { ...options, fallback: () => new Response("hello") });
 * assert.equal(await (await withFallback(new Request("http://localhost/other"))).text(), "hello");
 * ```
 */
export interface AdapterOptions {
  /**
   * Only this path upgrades; other paths get 404 (or the fallback).
   *
   * @default {undefined} (every path upgrades)
   */
  path?: string;
  /**
   * Answers requests that are not WebSocket upgrades, and other paths.
   *
   * @default {undefined} (426 for a plain request, 404 off `path`)
   */
  fallback?: (request: Request) => Response | Promise<Response>;
}

/**
 * The answer to a request the adapter should not upgrade: 404 (or the
 * fallback) off `path`, the fallback for a plain HTTP request; `undefined`
 * when the adapter should go on to the upgrade.
 */
export function routeRequest(
  request: Request,
  options: AdapterOptions,
): Response | Promise<Response> | undefined {
  if (options.path !== undefined && new URL(request.url).pathname !== options.path) {
    return options.fallback?.(request) ?? new Response("Not found\n", { status: 404 });
  }
  if (options.fallback && request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return options.fallback(request);
  }
  return undefined;
}
