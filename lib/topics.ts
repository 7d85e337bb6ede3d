/**
 * Topics and fan-out: the bus a {@linkcode Server} publishes through, so that
 * `server.publish(topic, command, payload)` reaches every subscribed session
 * of every instance on the same bus. This module holds the {@linkcode Bus}
 * interface and the in-process bus ({@linkcode MemoryBus}, the default: one
 * process, no dependencies). `@wsrpc/protocol/redis` (Redis Streams) and
 * `@wsrpc/protocol/nats` (NATS JetStream) carry it across processes and
 * machines.
 *
 * @example One publish, two sessions subscribed from a handler
 * ```ts
 * import { defineAPI, Server, unchecked } from "@wsrpc/protocol";
 * import { MemoryBus } from "@wsrpc/protocol/topics";
 * import assert from "node:assert/strict";
 *
 * const api = defineAPI({
 *   "x-ping-request": unchecked<{ timestamp: number }>(),
 *   "x-ping-response": unchecked<{ origintimestamp: number; timestamp: number }>(),
 *   "x-watch-request": unchecked<{ topic: string }>(),
 *   "x-watch-response": unchecked<null>(),
 *   "x-block-notification": unchecked<{ height: number }>(),
 * });
 * const server = new Server(api, {
 *   bus: new MemoryBus(),
 *   handlers: { "x-watch-request": ({ topic }, { session }) => session.subscribe(topic).then(() => null) },
 * });
 * const sockets = [0, 1].map(() => {
 *   const sent: string[] = [];
 *   const socket = Object.assign(new EventTarget(), {
 *     sent, readyState: 1, bufferedAmount: 0, binaryType: "", send: (f: string) => void sent.push(f), close() {},
 *   });
 *   server.serveSocket(socket);
 *   const watch = { header: { command: "x-watch-request", id: "1" }, payload: { topic: "blocks" } };
 *   socket.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(watch) }));
 *   return socket;
 * });
 * await new Promise((resolve) => setTimeout(resolve, 10)); // let the handlers subscribe
 * await server.publish("blocks", "x-block-notification", { height: 7 });
 * for (const socket of sockets) {
 *   assert.equal(socket.sent.at(-1), '{"header":{"command":"x-block-notification"},"payload":{"height":7}}');
 * }
 * await server.shutdown({ graceMs: 0 });
 * ```
 *
 * @module
 */

import { historyAfter } from "./_history.ts";

/** One message on a {@linkcode Bus}: a push of `command` with `payload` (JSON text) to `topic`. */
export interface BusMessage {
  /** The topic it was published to. */
  readonly topic: string;
  /**
   * Its position in the topic, assigned by the bus: increasing in publish
   * order within one `epoch` (without holes on the in-process and Redis
   * buses; NATS numbers the whole stream).
   */
  readonly seq: number;
  /** The topic's history it belongs to; a new epoch means the bus lost the old one. */
  readonly epoch: string;
  /** The push's command. */
  readonly command: string;
  /** The push's payload, as JSON text. */
  readonly payload: string;
}

/** A position in a topic: the last message seen. */
export interface BusPosition {
  /** The sequence of the last message seen (0 for none). */
  readonly seq: number;
  /** The epoch it belongs to. */
  readonly epoch: string;
}

/**
 * A gap a client is told of (`wsrpc-gap`, "topics" extension): messages of
 * `topic` it subscribed to may be missing before what follows, in `epoch`.
 *
 * - `"expired"`: past the bus's retention, or from a lost history (a new epoch);
 * - `"lost"`: the bus lost messages for the server, or could not replay;
 * - `"overflow"`: too many arrived while the replay was read;
 * - `"refused"`: the server does not let this session resume the topic
 *   (`ServerOptions.canResume`): it is no longer subscribed.
 *
 * @example What `onTopicGap` receives
 * ```ts
 * import type { TopicGap } from "@wsrpc/protocol/topics";
 * import assert from "node:assert/strict";
 *
 * const gap: TopicGap = { topic: "blocks", epoch: "e2", reason: "expired" };
 * assert.equal(gap.reason, "expired");
 * ```
 */
export interface TopicGap {
  /** The topic. */
  readonly topic: string;
  /** The epoch delivery goes on in. */
  readonly epoch: string;
  /** Why. */
  readonly reason: "expired" | "lost" | "overflow" | "refused";
}

/** What a bus reports to the server listening on it. */
export interface BusListener {
  /** A message of a subscribed topic, in the topic's bus order, each once. */
  message(message: BusMessage): void;
  /**
   * Messages of `topic` may have been lost for this instance (the broker
   * was unreachable for longer than its retention, or lost its history);
   * delivery goes on from `epoch`.
   */
  gap(topic: string, epoch: string): void;
  /** The bus lost (`"down"`) or regained (`"up"`) its broker; it reconnects by itself. */
  health?(state: "up" | "down", error?: unknown): void;
}

/** The messages of a topic after a position, for replay. */
export interface BusHistory {
  /** The retained messages after the position, in order. */
  readonly messages: BusMessage[];
  /**
   * False when some messages after the position are gone (past retention,
   * or another epoch): the reader must be told of a gap.
   */
  readonly complete: boolean;
  /** The topic's current epoch. */
  readonly epoch: string;
}

/**
 * What a {@linkcode Server} publishes through and listens on. Implemented by
 * {@linkcode MemoryBus} (in-process), `RedisBus` (`@wsrpc/protocol/redis`)
 * and `NatsBus` (`@wsrpc/protocol/nats`); one bus object per server.
 *
 * @example A bus's contract, on the in-process bus
 * ```ts
 * import { MemoryBus, type BusMessage } from "@wsrpc/protocol/topics";
 * import assert from "node:assert/strict";
 *
 * const bus = new MemoryBus({ historySize: 2 });
 * const seen: BusMessage[] = [];
 * bus.listen({ message: (m) => void seen.push(m), gap() {} });
 * await bus.subscribe("t");
 * for (const n of [1, 2, 3]) await bus.publish("t", "x-notification", String(n));
 * assert.deepEqual(seen.map((m) => m.seq), [1, 2, 3]);
 * const epoch = bus.epoch;
 * assert.deepEqual((await bus.history("t", { seq: 1, epoch })).messages.map((m) => m.payload), ["2", "3"]);
 * assert.equal((await bus.history("t", { seq: 0, epoch })).complete, false); // message 1 is gone
 * await bus.close();
 * ```
 */
export interface Bus {
  /**
   * Publishes a push to a topic.
   *
   * @returns Where the bus put it.
   */
  publish(topic: string, command: string, payload: string): Promise<BusPosition>;
  /**
   * Sets the one listener (a server) that receives the messages of the
   * subscribed topics.
   *
   * @returns Stops listening.
   */
  listen(listener: BusListener): () => void;
  /** Starts delivering a topic to the listener (counted: one unsubscribe per subscribe). */
  subscribe(topic: string): Promise<void>;
  /** Ends one subscribe of a topic. */
  unsubscribe(topic: string): void;
  /** The retained messages of a topic after a position. */
  history(topic: string, after: BusPosition): Promise<BusHistory>;
  /** Stops delivering; the bus's clients stay the caller's to close. */
  close(): Promise<void>;
}

/** Options for {@linkcode MemoryBus}. */
export interface MemoryBusOptions {
  /**
   * Messages kept per topic for replay after a reconnect.
   *
   * @default {1000}
   */
  historySize?: number;
}

interface MemoryTopic {
  seq: number;
  history: BusMessage[];
}

/**
 * The in-process bus, a server's default: topics within one process, with
 * `historySize` messages per topic kept for replay. Several servers in one
 * process may share one (each `listen`s).
 *
 * @example Replay after a position
 * ```ts
 * import { MemoryBus } from "@wsrpc/protocol/topics";
 * import assert from "node:assert/strict";
 *
 * const bus = new MemoryBus();
 * const first = await bus.publish("news", "x-news-notification", '"a"');
 * await bus.publish("news", "x-news-notification", '"b"');
 * const { messages, complete } = await bus.history("news", first);
 * assert.deepEqual(messages.map((m) => m.payload), ['"b"']);
 * assert.equal(complete, true);
 * ```
 */
export class MemoryBus implements Bus {
  #epoch: string | undefined;
  readonly #historySize: number;
  readonly #topics = new Map<string, MemoryTopic>();
  readonly #listeners = new Set<BusListener>();
  readonly #subscribed = new Map<string, number>();

  /**
   * Makes an in-process bus.
   *
   * @param options How much history to keep.
   */
  constructor(options: MemoryBusOptions = {}) {
    this.#historySize = options.historySize ?? 1000;
  }

  /**
   * This bus's epoch: a new process starts a new history. Made on first use,
   * as Workers forbid random values in a module's top level, where a
   * `Server` (and its default bus) is often made.
   */
  get epoch(): string {
    return this.#epoch ??= crypto.randomUUID();
  }

  /** Publishes and delivers at once. */
  publish(topic: string, command: string, payload: string): Promise<BusPosition> {
    let state = this.#topics.get(topic);
    if (state === undefined) this.#topics.set(topic, state = { seq: 0, history: [] });
    const message: BusMessage = { topic, seq: ++state.seq, epoch: this.epoch, command, payload };
    if (this.#historySize > 0) {
      state.history.push(message);
      // Trim in batches: one splice per historySize publishes.
      if (state.history.length >= 2 * this.#historySize) {
        state.history.splice(0, state.history.length - this.#historySize);
      }
    }
    if (this.#subscribed.has(topic)) {
      for (const listener of this.#listeners) listener.message(message);
    }
    return Promise.resolve({ seq: message.seq, epoch: this.epoch });
  }

  /** Adds a listener. */
  listen(listener: BusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Delivers `topic` from now on. */
  subscribe(topic: string): Promise<void> {
    this.#subscribed.set(topic, (this.#subscribed.get(topic) ?? 0) + 1);
    return Promise.resolve();
  }

  /** Ends one subscribe. */
  unsubscribe(topic: string): void {
    const count = (this.#subscribed.get(topic) ?? 0) - 1;
    if (count > 0) this.#subscribed.set(topic, count);
    else this.#subscribed.delete(topic);
  }

  /** The kept messages after `after`. */
  history(topic: string, after: BusPosition): Promise<BusHistory> {
    const state = this.#topics.get(topic) ?? { seq: 0, history: [] };
    return Promise.resolve(
      historyAfter(state.history.slice(-this.#historySize), state.seq, this.epoch, after),
    );
  }

  /** Stops delivering. */
  close(): Promise<void> {
    this.#listeners.clear();
    this.#subscribed.clear();
    return Promise.resolve();
  }
}
