/**
 * wsrpc in Durable Objects on the WebSocket Hibernation API. The Worker
 * routes `/room/<name>` to the object `Room` named <name> (demo API, no
 * handshake) and `/secure/<name>` to `SecureRoom` (the same with an ed25519
 * handshake). Each object hibernates when idle (workerd: after 10 s); its
 * sockets stay open and their sessions come back from their attachments.
 * `room-whoami-request` tells which life of the object answers.
 *
 * Topics: `room-subscribe-request` subscribes the socket to a topic of the
 * room and `room-publish-request` publishes `room-message-notification` to
 * every subscriber of the room, including sockets subscribed in an earlier
 * life; so does an HTTP `POST /room/<name>/publish/<topic>` (the body is the
 * message), from the object's own fetch.
 *
 * @module
 */

import { defineAPI, type Handlers, Server, type ServerOptions, unchecked } from "@wsrpc/protocol";
import {
  type CloudflareWebSocket,
  createDurableObjectHandler,
  type DurableObjectHandler,
  type DurableObjectStateLike,
} from "@wsrpc/protocol/cloudflare";
import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
import { ed25519Server } from "@wsrpc/protocol/ed25519";

/** What `room-whoami-request` answers. */
export interface WhoAmI {
  /** Which life of the object this is: 1 for the first, 2 after a hibernation, ... */
  life: number;
  /** The client's ed25519 key, when it proved one. */
  peer: string | null;
  /** Sessions this life of the object serves. */
  sessions: number;
}

/** Where a publish went: the topic's sequence and epoch (a new epoch in each life of the object). */
export interface Published {
  seq: number;
  epoch: string;
  /** Which life of the object published it. */
  life: number;
}

export const roomAPI = defineAPI({
  ...demoAPI.definition,
  "room-whoami-request": unchecked<null>(),
  "room-whoami-response": unchecked<WhoAmI>(),
  "room-subscribe-request": unchecked<{ topic: string }>(),
  "room-subscribe-response": unchecked<{ topics: string[] }>(),
  "room-publish-request": unchecked<{ topic: string; message: string }>(),
  "room-publish-response": unchecked<Published>(),
  "room-message-notification": unchecked<{ topic: string; message: string; life: number }>(),
});

/** Objects made since the module loaded (workerd keeps the module across a hibernation). */
let lives = 0;

function roomServer(
  options: Partial<ServerOptions<typeof roomAPI>>,
): { server: Server<typeof roomAPI>; life: number } {
  const life = ++lives;
  const sessions = (): number => server.sessions.size;
  const handlers: Handlers<typeof roomAPI> = {
    ...demoHandlers as unknown as Handlers<typeof roomAPI>,
    "room-whoami-request": (_payload, { session }) => ({
      life,
      peer: session.peer?.publicKey ?? null,
      sessions: sessions(),
    }),
    "room-subscribe-request": async ({ topic }, { session }) => {
      await session.subscribe(topic);
      return { topics: [...session.topics] };
    },
    "room-publish-request": async ({ topic, message }) => ({
      ...await server.publish(topic, "room-message-notification", { topic, message, life }),
      life,
    }),
  };
  const server: Server<typeof roomAPI> = new Server(roomAPI, {
    handlers,
    insecureSkipOriginCheck: true,
    ...options,
  });
  return { server, life };
}

/** The object's class shape on the Hibernation API. */
abstract class WsrpcObject {
  readonly #wsrpc: DurableObjectHandler;
  readonly #server: Server<typeof roomAPI>;
  readonly #life: number;
  constructor(ctx: DurableObjectStateLike, { server, life }: ReturnType<typeof roomServer>) {
    this.#wsrpc = createDurableObjectHandler(server, ctx, { handshakeTimeoutMs: 30_000 });
    this.#server = server;
    this.#life = life;
  }
  async fetch(request: Request): Promise<Response> {
    // POST /room/<name>/publish/<topic>: a publish from the object's own code.
    const [, , , action, topic] = new URL(request.url).pathname.split("/");
    if (request.method === "POST" && action === "publish" && topic) {
      const message = await request.text();
      await this.#wsrpc.restore(); // renew the subscriptions of sockets from an earlier life
      const { seq, epoch } = await this.#server.publish(
        decodeURIComponent(topic),
        "room-message-notification",
        { topic: decodeURIComponent(topic), message, life: this.#life },
      );
      return Response.json({ seq, epoch, life: this.#life } satisfies Published);
    }
    return this.#wsrpc.fetch(request);
  }
  webSocketMessage(ws: CloudflareWebSocket, message: string | ArrayBuffer): Promise<void> {
    return this.#wsrpc.webSocketMessage(ws, message);
  }
  webSocketClose(ws: CloudflareWebSocket, code: number, reason: string): void {
    this.#wsrpc.webSocketClose(ws, code, reason);
  }
  webSocketError(ws: CloudflareWebSocket, error: unknown): void {
    this.#wsrpc.webSocketError(ws, error);
  }
}

/** A room without a handshake. */
export class Room extends WsrpcObject {
  constructor(ctx: DurableObjectStateLike) {
    super(ctx, roomServer({}));
  }
}

/**
 * A room whose clients prove an ed25519 key first (any key). The handshake's
 * 30 s are checked from the socket's attachment, not by a timer
 * (`handshakeTimeoutMs: 0` here), so the object may hibernate between the
 * handshake's messages and finish it in its next life.
 */
export class SecureRoom extends WsrpcObject {
  constructor(ctx: DurableObjectStateLike) {
    super(ctx, roomServer({ authenticator: ed25519Server(), handshakeTimeoutMs: 0 }));
  }
}

/** The bindings of wrangler.toml. */
interface Env {
  ROOM: DurableObjectNamespaceLike;
  SECURE_ROOM: DurableObjectNamespaceLike;
}

/** The part of a Durable Object namespace binding used here. */
interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

export default {
  fetch(request: Request, env: Env): Response | Promise<Response> {
    const [, kind, name] = new URL(request.url).pathname.split("/");
    const namespace = kind === "room" ? env.ROOM : kind === "secure" ? env.SECURE_ROOM : undefined;
    if (namespace === undefined || !name) {
      return new Response("connect to /room/<name> or /secure/<name>\n", { status: 404 });
    }
    return namespace.get(namespace.idFromName(name)).fetch(request);
  },
};
