/**
 * The request routing both runtime adapters share: `path` (only it upgrades)
 * and `fallback` (answers what is not a WebSocket upgrade).
 */

/** The adapters' routing options. */
export interface RouteOptions {
  path?: string;
  fallback?: (request: Request) => Response | Promise<Response>;
}

/**
 * The answer to a request the adapter should not upgrade: 404 (or the
 * fallback) off `path`, the fallback for a plain HTTP request; `undefined`
 * when the adapter should go on to the upgrade.
 */
export function routeRequest(
  request: Request,
  options: RouteOptions,
): Response | Promise<Response> | undefined {
  if (options.path !== undefined && new URL(request.url).pathname !== options.path) {
    return options.fallback?.(request) ?? new Response("Not found\n", { status: 404 });
  }
  if (options.fallback && request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return options.fallback(request);
  }
  return undefined;
}
