/**
 * The Durable Object integration of the Cloudflare adapter, on the WebSocket
 * Hibernation API: sessions kept in their sockets' attachments and restored
 * when the object wakes.
 *
 * @module
 */

import type { API } from "./api.ts";
import type { Server, Session } from "./server.ts";
import { type AdapterOptions, routeRequest } from "./_route.ts";
import { CloseCode } from "./close_code.ts";
import type { CloudflareSocket } from "./_cloudflare_socket.ts";
import type { CloudflareWebSocket } from "./_cloudflare_types.ts";
import { newestSession, switching, webSocketPair } from "./_cloudflare_upgrade.ts";
import {
  type Attachment,
  attachmentOf,
  saveAttachment,
  serveFromAttachment,
} from "./_cloudflare_attachment.ts";
/**
 * The part of a Durable Object's `ctx` (`DurableObjectState`) the adapter uses.
 *
 * @example A stand-in state that hibernates nothing
 * ```ts
 * import type { CloudflareWebSocket, DurableObjectStateLike } from "@wsrpc/protocol/cloudflare";
 * import assert from "node:assert/strict";
 *
 * const accepted: CloudflareWebSocket[] = [];
 * const ctx: DurableObjectStateLike = {
 *   acceptWebSocket: (ws) => void accepted.push(ws),
 *   getWebSockets: () => accepted,
 * };
 * assert.equal(ctx.getWebSockets("wsrpc").length, 0);
 * ```
 */
export interface DurableObjectStateLike {
  /** Accepts a socket for hibernation, with tags to find it by. */
  acceptWebSocket(ws: CloudflareWebSocket, tags?: string[]): void;
  /** The accepted sockets (with `tag`), including those that survived hibernation. */
  getWebSockets(tag?: string): CloudflareWebSocket[];
}

/**
 * Options for {@linkcode createDurableObjectHandler}: the routing all
 * adapters share, and tags for the accepted sockets.
 *
 * @example Tagging sockets by the room in the path
 * ```ts
 * import type { DurableObjectOptions } from "@wsrpc/protocol/cloudflare";
 * import assert from "node:assert/strict";
 *
 * const options: DurableObjectOptions = { tags: (request) => [new URL(request.url).pathname] };
 * assert.deepEqual(options.tags?.(new Request("http://localhost/room/a")), ["/room/a"]);
 * ```
 */
export interface DurableObjectOptions extends AdapterOptions {
  /**
   * Tags for `ctx.acceptWebSocket` besides `"wsrpc"` (which marks the
   * adapter's sockets), so that `ctx.getWebSockets(tag)` finds them (at most
   * 9 more, each at most 256 characters).
   */
  tags?: (request: Request) => string[];
  /**
   * Time for the handshake, checked against the socket's attachment on each
   * message, so that no timer keeps the object awake between the
   * handshake's messages. Set `ServerOptions.handshakeTimeoutMs` to 0 to let
   * the object hibernate between them; past this time the socket is closed
   * with 4100 when the client next speaks.
   *
   * @default {undefined} (only `ServerOptions.handshakeTimeoutMs`, a timer)
   */
  handshakeTimeoutMs?: number;
}

/**
 * The Durable Object's side of the adapter: call these from the class's
 * `fetch`, `webSocketMessage`, `webSocketClose` and `webSocketError`.
 *
 * @example Refusing a plain request, in an object
 * ```ts
 * import { Server } from "@wsrpc/protocol";
 * import { createDurableObjectHandler, type DurableObjectHandler } from "@wsrpc/protocol/cloudflare";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 * import assert from "node:assert/strict";
 *
 * const ctx = { acceptWebSocket: () => {}, getWebSockets: () => [] };
 * const handler: DurableObjectHandler = createDurableObjectHandler(new Server(demoAPI, { handlers: demoHandlers }), ctx);
 * assert.equal((await handler.fetch(new Request("http://localhost/"))).status, 426);
 * ```
 */
export interface DurableObjectHandler {
  /** Upgrades requests for the server; answers others (404, 426, 421, 403, 503, or the fallback). */
  fetch(request: Request): Response | Promise<Response>;
  /** A frame arrived; resolves once the requests it started are answered. */
  webSocketMessage(ws: CloudflareWebSocket, message: string | ArrayBuffer): Promise<void>;
  /** The client closed the socket. */
  webSocketClose(ws: CloudflareWebSocket, code: number, reason: string, wasClean?: boolean): void;
  /** The socket failed. */
  webSocketError(ws: CloudflareWebSocket, error?: unknown): void;
  /**
   * Serves the sockets of an object woken from hibernation again (each of
   * the calls above does it first) and resolves once their sessions are
   * subscribed again to the topics they were. Await it before
   * `server.publish` from the object's own code (its fetch past the
   * adapter, an alarm, an RPC method): handlers need not.
   */
  restore(): Promise<void>;
}

/** The tag that marks the adapter's sockets. */
const TAG = "wsrpc";
/** How often an event that started requests looks whether they are answered. */
const SETTLE_POLL_MS = 5;
/** The close reason (1008) of a session whose subscriptions outgrow its attachment. */
const TOPICS_TOO_LARGE = "subscriptions too large to keep across hibernation";

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/**
 * Makes the Durable Object side of the adapter on the Hibernation API.
 * `fetch` checks and upgrades requests and accepts the server end with
 * `ctx.acceptWebSocket`; each socket's session state is kept in its
 * attachment, and an object woken from hibernation restores every session
 * (found with `ctx.getWebSockets("wsrpc")`) on its first event.
 *
 * Make it in the object's constructor with a `Server` made there too: a
 * woken object is a new instance. `server.sessions` then holds the sessions
 * of this object's sockets.
 *
 * Topics: a session's subscriptions (`session.subscribe`) are kept in its
 * attachment as they change, and renewed on the server's bus when the
 * object wakes, before the event that woke it is handled; so
 * `server.publish` from a handler reaches every subscribed socket of the
 * object (from the object's own code, `await handler.restore()` first).
 * The default in-process bus starts over in each life with a new epoch:
 * nothing is published while the object sleeps, so a live socket misses
 * nothing, and a client resuming a topic from an earlier life (the "topics"
 * extension) is told of a gap. A session whose subscriptions outgrow the
 * attachment (Cloudflare limits its size) is closed with 1008.
 *
 * @param server The server.
 * @param ctx The object's state (`this.ctx`).
 * @param options Routing and socket tags.
 * @returns The handlers to call from the class.
 *
 * @example A frame delivered to a socket woken from hibernation
 * ```ts
 * import { Server } from "@wsrpc/protocol";
 * import { type CloudflareWebSocket, createDurableObjectHandler } from "@wsrpc/protocol/cloudflare";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 * import assert from "node:assert/strict";
 *
 * // A socket whose session was admitted before the object hibernated.
 * const sent: string[] = [];
 * const ws: CloudflareWebSocket = {
 *   readyState: 1, send: (text) => void sent.push(text), close: () => {},
 *   deserializeAttachment: () => ({ wsrpc: 1, url: "http://localhost/", startedAt: 0, admitted: true, inFlight: 0 }),
 *   serializeAttachment: () => {},
 * };
 * const server = new Server(demoAPI, { handlers: demoHandlers });
 * const handler = createDurableObjectHandler(server, { acceptWebSocket: () => {}, getWebSockets: () => [ws] });
 * await handler.webSocketMessage(ws, '{"header":{"command":"demo-echo-request","id":"9"},"payload":"hi"}');
 * assert.deepEqual(sent, ['{"header":{"command":"demo-echo-response","id":"9"},"payload":"hi"}']); // no new ping
 * handler.webSocketClose(ws, 1000, "");
 * await server.shutdown();
 * ```
 */
export function createDurableObjectHandler<A extends API>(
  server: Server<A>,
  ctx: DurableObjectStateLike,
  options: DurableObjectOptions = {},
): DurableObjectHandler {
  interface Served {
    socket: CloudflareSocket;
    attachment: Attachment;
    session: Session<A> | undefined;
  }
  const served = new Map<CloudflareWebSocket, Served>();
  let restored = false;
  /** Subscriptions of an earlier life being renewed: events wait for them before they publish. */
  let renewing: Promise<unknown> | undefined;

  const start = (ws: CloudflareWebSocket, attachment: Attachment, request?: Request): Served => {
    const entry: Served = { socket: undefined!, attachment, session: undefined };
    const { socket } = serveFromAttachment(
      server,
      ws,
      attachment,
      request,
      (topics) => keepTopics(entry, topics),
    );
    entry.socket = socket;
    entry.session = newestSession(server);
    served.set(ws, entry);
    void entry.session?.closed.then(() => served.delete(ws));
    renew(entry);
    return entry;
  };
  /** Subscribes a restored session again to the topics its attachment holds. */
  const renew = (entry: Served) => {
    const { session } = entry;
    const topics = entry.attachment.topics;
    if (session === undefined || topics === undefined) return;
    // The bus of this life holds no subscription: renew them before any event publishes.
    const done = Promise.all(topics.map((topic) => session.subscribe(topic).catch(() => {})));
    const all: Promise<unknown> = renewing === undefined ? done : Promise.all([renewing, done]);
    const mine = all.then(() => {
      if (renewing === mine) renewing = undefined;
    });
    renewing = mine;
  };
  /** Keeps a session's topics in its attachment; a session whose topics do not fit is closed. */
  const keepTopics = (entry: Served, topics: readonly string[]) => {
    const kept = entry.attachment.topics ?? [];
    if (sameList(kept, topics)) return;
    if (topics.length === 0) delete entry.attachment.topics;
    else entry.attachment.topics = [...topics];
    if (!saveAttachment(entry.socket.ws, entry.attachment) && entry.socket.readyState === 1) {
      entry.session?.close(CloseCode.PolicyViolation, TOPICS_TOO_LARGE);
    }
  };
  /** The sockets of an object woken from hibernation, each with its session again. */
  const restoreAll = () => {
    if (restored) return;
    restored = true;
    for (const ws of ctx.getWebSockets(TAG)) {
      const attachment = attachmentOf(ws);
      if (!served.has(ws) && attachment !== undefined) start(ws, attachment);
    }
  };
  const find = (ws: CloudflareWebSocket): Served | undefined => {
    restoreAll();
    const entry = served.get(ws);
    if (entry !== undefined) return entry;
    const attachment = attachmentOf(ws);
    return attachment === undefined ? undefined : start(ws, attachment);
  };
  /** Records the requests in flight and the accepted extensions in the attachment when they changed. */
  const record = (entry: Served) => {
    const inFlight = entry.session?.inFlight ?? 0;
    const extensions = entry.session?.extensions;
    const hello = extensions !== undefined && entry.attachment.extensions === undefined;
    if (inFlight === entry.attachment.inFlight && !hello) return;
    entry.attachment.inFlight = inFlight;
    if (hello) entry.attachment.extensions = [...extensions];
    saveAttachment(entry.socket.ws, entry.attachment);
  };

  return {
    fetch(request) {
      restoreAll();
      const refusal = routeRequest(request, options) ?? server.checkRequest(request);
      if (refusal !== undefined) return refusal;
      const [client, ws] = webSocketPair();
      ctx.acceptWebSocket(ws, [TAG, ...(options.tags?.(request) ?? [])]);
      const remoteAddr = request.headers.get("cf-connecting-ip");
      const attachment: Attachment = {
        wsrpc: 1,
        url: request.url,
        startedAt: Date.now(),
        inFlight: 0,
        ...(remoteAddr === null ? {} : { remoteAddr }),
      };
      saveAttachment(ws, attachment);
      start(ws, attachment, request);
      return switching(client, server.selectProtocol(request));
    },
    async webSocketMessage(ws, message) {
      const entry = find(ws);
      if (entry === undefined) return; // not one of the adapter's sockets
      if (renewing !== undefined) await renewing;
      const limit = options.handshakeTimeoutMs;
      if (
        !entry.attachment.admitted && limit !== undefined &&
        Date.now() - entry.attachment.startedAt > limit
      ) {
        entry.socket.close(
          CloseCode.HandshakeError,
          `handshake failed: Handshake timed out after ${limit} ms`,
        );
        return;
      }
      entry.socket.onMessage(message);
      const session = entry.session;
      if (session === undefined || session.inFlight === 0) {
        if (session?.extensions !== undefined) record(entry);
        return;
      }
      // Keep the object awake (the event open) until the requests are answered.
      record(entry);
      while (session.inFlight > 0 && !session.signal.aborted) {
        await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
      }
      record(entry);
    },
    webSocketClose(ws, code, reason) {
      find(ws)?.socket.onClose(code, reason);
      served.delete(ws);
    },
    webSocketError(ws) {
      find(ws)?.socket.onClose(CloseCode.AbnormalClosure, "");
      served.delete(ws);
    },
    async restore() {
      restoreAll();
      while (renewing !== undefined) await renewing;
    },
  };
}
