/**
 * Admission: whether a server takes an upgrade request, and with which
 * subprotocol. Pure functions of the request, the server's options and its
 * state, so that each rule has a table test and needs no socket.
 */

import type { ServerOptions } from "./server_options.ts";

/** The server options admission reads. */
export type AdmissionOptions = Pick<
  ServerOptions,
  "maxConnections" | "allowedHosts" | "origins" | "insecureSkipOriginCheck"
>;

/** What admission reads of the server's state. */
export interface AdmissionState {
  /** False once the server shuts down. */
  accepting: boolean;
  /** Connections that count against `maxConnections`: open ones, and closed ones whose socket lingers. */
  connections: number;
}

/**
 * The response that refuses an upgrade request, or `undefined` to upgrade it.
 * In order: 426 not a WebSocket upgrade, 503 shutting down, 503 full, 421
 * host not in `allowedHosts` (before `Origin`, against DNS rebinding), 403
 * origin refused.
 */
export function checkUpgrade(
  request: Request,
  options: AdmissionOptions,
  state: AdmissionState,
): Response | undefined {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("Expected a WebSocket upgrade\n", {
      status: 426,
      headers: { upgrade: "websocket" },
    });
  }
  if (!state.accepting) return new Response("Server shutting down\n", { status: 503 });
  if (state.connections >= (options.maxConnections ?? 10_000)) {
    return new Response("Too many connections\n", { status: 503 });
  }
  const allowedHosts = options.allowedHosts;
  if (allowedHosts !== undefined && !hostAllowed(allowedHosts, request)) {
    return new Response("Host not allowed\n", { status: 421 });
  }
  const origin = request.headers.get("origin");
  if (
    origin !== null && !options.insecureSkipOriginCheck &&
    !originAllowed(options.origins, origin, request)
  ) {
    return new Response(`Origin ${JSON.stringify(origin)} not allowed\n`, { status: 403 });
  }
  return undefined;
}

/**
 * The first of `supported` that the request offers in `Sec-WebSocket-Protocol`
 * (RFC 6455 §4.2.2), or `undefined` for none.
 */
export function selectProtocol(
  request: Request,
  supported: readonly string[] | undefined,
): string | undefined {
  const header = request.headers.get("sec-websocket-protocol");
  if (supported === undefined || supported.length === 0 || header === null) return undefined;
  const offered = header.split(",").map((p) => p.trim());
  return supported.find((p) => offered.includes(p));
}

/**
 * Whether a browser's `Origin` may connect: one of `allowed` (`"*"` for any),
 * or without a list, same-origin (its host equal to `Host`).
 */
export function originAllowed(
  allowed: readonly string[] | undefined,
  origin: string,
  request: Request,
): boolean {
  if (allowed !== undefined) return allowed.includes("*") || allowed.includes(origin);
  try {
    return new URL(origin).host === (request.headers.get("host") ?? new URL(request.url).host);
  } catch {
    return false;
  }
}

/** Whether the request's `Host` names one of `allowed` (any port). */
export function hostAllowed(allowed: readonly string[], request: Request): boolean {
  const name = hostName(request.headers.get("host") ?? new URL(request.url).host);
  return name !== undefined && allowed.some((host) => hostName(host) === name);
}

/**
 * The normalised name of a `Host` value (`Example.COM:80` -> `example.com`,
 * `::1` and `[::1]:8080` -> `[::1]`), or `undefined` when it is not a plain
 * host (user info, a path, or anything else a URL parser would skip over).
 */
export function hostName(host: string): string | undefined {
  if (host === "" || /[\s/?#@\\]/.test(host)) return undefined;
  const bracketed = host.indexOf(":") !== host.lastIndexOf(":") && !host.startsWith("[")
    ? `[${host}]`
    : host;
  try {
    return new URL(`http://${bracketed}`).hostname;
  } catch {
    return undefined;
  }
}
