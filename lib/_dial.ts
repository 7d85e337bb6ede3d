/**
 * The steps of the client's dial: the URL, making the socket, then waiting for
 * it to open, the authenticator's handshake and the server's first message.
 * `Conn` runs them under its connect timeout.
 */

import { abortable, deadline } from "./_deadline.ts";
import { CloseCode, ConnectionClosedError, HandshakeError } from "./errors.ts";
import type { ConnOptions } from "./conn_options.ts";
import { type APIConn, type Authenticator, WS_HANDSHAKE_TIMEOUT_MS } from "./message.ts";
import type { WebSocketLike } from "./_socket.ts";

/**
 * `url` as a `ws:`/`wss:` URL; `http:` and `https:` map to them.
 *
 * @throws {SyntaxError} When it is not a URL, or of another scheme.
 */
export function websocketURL(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SyntaxError(`Cannot connect: invalid URL ${JSON.stringify(String(url))}`);
  }
  if (parsed.protocol === "http:") parsed.protocol = "ws:";
  else if (parsed.protocol === "https:") parsed.protocol = "wss:";
  if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
    throw new SyntaxError(
      `Cannot connect: URL scheme must be ws: or wss:, got ${JSON.stringify(parsed.protocol)}`,
    );
  }
  return parsed.href;
}

/** Makes the socket: with `webSocket`, else the global `WebSocket` (with headers where allowed). */
export function openSocket(
  url: string,
  options: Pick<ConnOptions, "headers" | "protocols" | "webSocket">,
): WebSocketLike {
  const { headers, protocols, webSocket } = options;
  const init: { headers?: Record<string, string>; protocols?: string | string[] } = {};
  if (headers !== undefined) init.headers = headers;
  if (protocols !== undefined) init.protocols = protocols;
  if (webSocket) return webSocket(url, init);
  if (headers === undefined) return new WebSocket(url, protocols);
  // Deno and Bun accept an options object with headers (non-standard).
  return new (WebSocket as unknown as new (url: string, init: unknown) => WebSocket)(url, init);
}

/**
 * Resolves when `socket` is open; rejects with a {@linkcode ConnectionClosedError}
 * that says why when it closes first (`closed` is its connection's close status).
 */
export function socketOpened(
  url: string,
  socket: WebSocketLike,
  closed: Promise<{ code: number; reason: string }>,
): Promise<void> {
  if (socket.readyState === 1) return Promise.resolve();
  return new Promise((resolve, reject) => {
    let detail = "";
    socket.addEventListener("error", (e) => {
      detail = (e as ErrorEvent).message ?? "";
    });
    socket.addEventListener("open", () => resolve());
    closed.then(({ code, reason }) => {
      const why = detail ||
        (reason ? `closed ${code} ${JSON.stringify(reason)}` : "connection failed");
      reject(
        new ConnectionClosedError(code, reason, { message: `Cannot connect to ${url}: ${why}` }),
      );
    });
  });
}

/**
 * Runs the authenticator's client handshake within `timeoutMs`.
 *
 * @throws {HandshakeError} When it fails or times out (the cause says why).
 */
export async function clientHandshake(
  authenticator: Authenticator,
  conn: APIConn,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  const timeout = deadline(timeoutMs, "Handshake", signal);
  try {
    await abortable(authenticator.handshakeClient(conn, timeout.signal), timeout.signal);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new HandshakeError(`failed to handshake with server: ${detail}`, { cause: error });
  } finally {
    timeout.clear();
  }
}

/**
 * Reads the server's first message (the ping with id "0"), which the Go
 * client reads and discards before reporting success.
 *
 * @throws {HandshakeError} When the server closes with 4100 instead: a
 * refusal after the handshake (the server's `authorize`).
 */
export async function firstMessage(conn: APIConn, signal: AbortSignal): Promise<unknown> {
  try {
    return await conn.readJSON(signal);
  } catch (error) {
    if (!(error instanceof ConnectionClosedError) || error.code !== CloseCode.HandshakeError) {
      throw error;
    }
    throw new HandshakeError(`failed to handshake with server: ${error.message}`, {
      cause: error,
    });
  }
}

/**
 * The rest of a dial once the socket is made: waits for it to open, runs the
 * authenticator's handshake (within `handshakeTimeoutMs`), and reads the
 * server's first message.
 *
 * @param conn The connection over `socket`; `closed` settles when it closes.
 * @returns The server's first message.
 */
export async function greet(
  url: string,
  socket: WebSocketLike,
  conn: APIConn & { readonly closed: Promise<{ code: number; reason: string }> },
  options: Pick<ConnOptions, "authenticator" | "handshakeTimeoutMs">,
  signal: AbortSignal,
): Promise<unknown> {
  await abortable(socketOpened(url, socket, conn.closed), signal);
  if (options.authenticator) {
    const ms = options.handshakeTimeoutMs ?? WS_HANDSHAKE_TIMEOUT_MS;
    await clientHandshake(options.authenticator, conn, ms, signal);
  }
  return await firstMessage(conn, signal);
}
