/**
 * One client connection on a server: its identity, its in-flight count, and
 * pushes to the client.
 *
 * @module
 */

import type { API, CommandOf, PayloadOf } from "./api.ts";
import { CloseCode, ConnectionClosedError } from "./errors.ts";
import { encodeMessage } from "./framing.ts";
import type { PeerIdentity } from "./message.ts";

const NO_TOPICS: ReadonlySet<string> = new Set();

/**
 * Where a connection came from, as the adapter saw it.
 *
 * @example The adapter's info, on the session
 * ```ts
 * import { Server } from "@wsrpc/protocol";
 * import { type ConnectionInfo } from "@wsrpc/protocol/types";
 * import { demoAPI, demoHandlers } from "@wsrpc/protocol/demo";
 * import assert from "node:assert/strict";
 *
 * const socket = Object.assign(new EventTarget(), {
 *   readyState: 1, bufferedAmount: 0, binaryType: "", send(_frame: string) {}, close() {},
 * });
 * const server = new Server(demoAPI, { handlers: demoHandlers });
 * const info: ConnectionInfo = {
 *   remoteAddr: "192.0.2.7:50000",
 *   request: new Request("http://localhost/v1/ws", { headers: { "user-agent": "cli/1" } }),
 * };
 * const served = server.serveSocket(socket, info);
 * const [session] = server.sessions.values();
 * assert.equal(session?.remoteAddr, "192.0.2.7:50000");
 * assert.equal(session?.request?.headers.get("user-agent"), "cli/1");
 * socket.dispatchEvent(new CloseEvent("close", { code: 1000 })); // the client goes
 * await served;
 * assert.equal(server.sessions.size, 0);
 * ```
 */
export interface ConnectionInfo {
  /** The client's address, `host:port`. */
  remoteAddr?: string;
  /** The upgrade request. */
  request?: Request;
}

/** What a {@linkcode Session} is given by the server that made it: its connection, and the state the server keeps. */
export interface SessionLink {
  /** Resolves with the close status when the connection has closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Sends `text` now if the outgoing buffer has room; false when it must wait. Throws once closed. */
  sendText(text: string): boolean;
  /** Writes `text` once the outgoing buffer has room, within the server's bounds. */
  write(text: string, signal?: AbortSignal): Promise<void>;
  /** Closes the connection. */
  close(code: number, reason: string): void;
  /** The identity the authenticator established, once it has. */
  readonly peer: PeerIdentity | undefined;
  /** Requests being handled now. */
  readonly inFlight: number;
  /** The topics it is subscribed to. */
  readonly topics?: ReadonlySet<string> | undefined;
  /** Subscribes it to a topic on the server's bus. */
  subscribe?(topic: string): Promise<void>;
  /** Ends its subscription of a topic. */
  unsubscribe?(topic: string): void;
  /** Its extension state, when the server offered extensions. */
  readonly extensions?: { readonly negotiated: readonly string[] | undefined } | undefined;
}

/**
 * One client connection on a {@linkcode Server}.
 *
 * @typeParam A The server's API.
 *
 * @example Pushing notifications from a handler
 * ```ts
 * import { defineAPI, Server, unchecked, type Handlers } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * // An in-memory stand-in for the client's end of the socket.
 * class FakeSocket extends EventTarget {
 *   readyState = 1; bufferedAmount = 0; binaryType = ""; sent: string[] = [];
 *   send(frame: string): void { this.sent.push(frame); }
 *   close(code = 1000, reason = ""): void {
 *     this.readyState = 3;
 *     this.dispatchEvent(new CloseEvent("close", { code, reason }));
 *   }
 *   receive(message: unknown): void {
 *     this.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(message) }));
 *   }
 * }
 * const api = defineAPI({
 *   "x-ping-request": unchecked<{ timestamp: number }>(),
 *   "x-ping-response": unchecked<{ origintimestamp: number; timestamp: number }>(),
 *   "x-notify-request": unchecked<{ count: number }>(),
 *   "x-notify-response": unchecked<null>(),
 *   "x-event-notification": unchecked<{ seq: number }>(),
 * });
 * const handlers: Handlers<typeof api> = {
 *   "x-notify-request": async ({ count }, { session }) => {
 *     for (let seq = 1; seq <= count; seq++) await session.push("x-event-notification", { seq });
 *     return null;
 *   },
 * };
 * const server = new Server(api, { handlers });
 * const socket = new FakeSocket();
 * const served = server.serveSocket(socket);
 * socket.receive({ header: { command: "x-notify-request", id: "1" }, payload: { count: 2 } });
 * await new Promise((resolve) => setTimeout(resolve, 0)); // let the server answer
 * assert.deepEqual(socket.sent.slice(1), [
 *   '{"header":{"command":"x-event-notification"},"payload":{"seq":1}}', // a push: no id
 *   '{"header":{"command":"x-event-notification"},"payload":{"seq":2}}',
 *   '{"header":{"command":"x-notify-response","id":"1"},"payload":null}',
 * ]);
 * socket.close();
 * await served;
 * ```
 */
export class Session<A extends API = API> {
  /** A server-unique id. */
  readonly id: string;
  /** When the connection was accepted. */
  readonly connectedAt: Date = new Date();
  /** The client's address, when the adapter knows it. */
  readonly remoteAddr: string | undefined;
  /** The upgrade request, when the adapter passed it. */
  readonly request: Request | undefined;
  readonly #link: SessionLink;
  readonly #controller = new AbortController();

  /**
   * Made by the server for each connection; not for users to construct.
   *
   * @param id A server-unique id.
   * @param info Where it came from.
   * @param link Its connection, and the state its server keeps.
   */
  constructor(id: string, info: ConnectionInfo, link: SessionLink) {
    this.id = id;
    this.#link = link;
    this.remoteAddr = info.remoteAddr;
    this.request = info.request;
  }

  /** The identity the authenticator established, if one ran. */
  get peer(): PeerIdentity | undefined {
    return this.#link.peer;
  }

  /** Requests being handled now. */
  get inFlight(): number {
    return this.#link.inFlight;
  }

  /** Aborts when the session ends. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Resolves with the close status when the connection has closed. */
  get closed(): Promise<{ code: number; reason: string }> {
    return this.#link.closed;
  }

  /**
   * Sends a notification (a message without an id) to this client. Waits
   * while the outgoing buffer is full. Once the session has ended (its
   * `signal` aborted) it returns an already rejected promise, without
   * encoding the payload: a loop of `await session.push(...)` must stop on
   * that rejection (or on `signal`).
   *
   * @param command A command of the API.
   * @param payload Its payload.
   * @param options A `signal` to cancel a wait for buffer space.
   * @returns Resolves once the push is sent or queued in the socket.
   * @throws {ConnectionClosedError} When the session has ended.
   */
  push<C extends CommandOf<A>>(
    command: C,
    payload: PayloadOf<A, C>,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const ended = this.#controller.signal;
    if (ended.aborted) return Promise.reject(ended.reason);
    let text: string;
    try {
      text = encodeMessage(command, "", payload);
    } catch (error) {
      return Promise.reject(error);
    }
    try {
      if (this.#link.sendText(text)) return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#link.write(text, options.signal);
  }

  /** The topics this session is subscribed to. */
  get topics(): ReadonlySet<string> {
    return this.#link.topics ?? NO_TOPICS;
  }

  /**
   * The extensions the client accepted in its hello (docs/wire-format.md),
   * or `undefined` before its hello or when the server offered none: what
   * an adapter keeps to resume the session (`ResumeState.extensions`).
   */
  get extensions(): readonly string[] | undefined {
    return this.#link.extensions?.negotiated;
  }

  /**
   * Subscribes this session to a topic: `server.publish(topic, ...)` on any
   * instance on the server's bus then pushes to it, through the same bounded
   * write path as {@linkcode Session.push}. Subscribing twice is one
   * subscription; it ends with `unsubscribe` or with the session.
   *
   * @param topic A non-empty string of at most 1024 characters.
   * @returns Resolves once the bus delivers the topic to this server.
   * @throws {TypeError} When the topic is not a valid name.
   *
   * @example Subscribed from a handler, pushed to by a publish
   * ```ts
   * import { defineAPI, Server, unchecked } from "@wsrpc/protocol";
   * import assert from "node:assert/strict";
   *
   * const api = defineAPI({
   *   "x-ping-request": unchecked<{ timestamp: number }>(),
   *   "x-ping-response": unchecked<{ origintimestamp: number; timestamp: number }>(),
   *   "x-tx-notification": unchecked<{ hash: string }>(),
   * });
   * const sent: string[] = [];
   * const socket = Object.assign(new EventTarget(), {
   *   readyState: 1, bufferedAmount: 0, binaryType: "", send: (f: string) => void sent.push(f), close() {},
   * });
   * const server = new Server(api, { handlers: {} });
   * server.serveSocket(socket);
   * await new Promise((resolve) => setTimeout(resolve, 0)); // the ping goes out
   * const [session] = server.sessions.values();
   * await session!.subscribe("script:ab12");
   * assert.deepEqual([...session!.topics], ["script:ab12"]);
   * await server.publish("script:ab12", "x-tx-notification", { hash: "00ff" });
   * session!.unsubscribe("script:ab12");
   * await server.publish("script:ab12", "x-tx-notification", { hash: "11ee" }); // not sent
   * assert.deepEqual(sent.slice(1), ['{"header":{"command":"x-tx-notification"},"payload":{"hash":"00ff"}}']);
   * await server.shutdown({ graceMs: 0 });
   * ```
   */
  subscribe(topic: string): Promise<void> {
    if (this.#link.subscribe === undefined) {
      return Promise.reject(new TypeError("Cannot subscribe: this session has no bus"));
    }
    try {
      return this.#link.subscribe(topic);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Ends this session's subscription of a topic; harmless when it has none.
   *
   * @param topic The topic.
   */
  unsubscribe(topic: string): void {
    this.#link.unsubscribe?.(topic);
  }

  /**
   * Closes the connection; in-flight handlers see their signal abort.
   *
   * @param code The close code.
   * @param reason The close reason.
   */
  close(code: number = CloseCode.Normal, reason = ""): void {
    this.#link.close(code, reason);
    // Only the first close sets the reason: no error built for the later ones.
    if (!this.#controller.signal.aborted) {
      this.#controller.abort(new ConnectionClosedError(code, reason));
    }
  }
}
