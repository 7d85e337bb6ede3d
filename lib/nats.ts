/**
 * A {@linkcode Bus} on NATS JetStream, so that servers in many processes and
 * on many machines share topics: one stream holds every topic (a subject
 * each, `PREFIX.t.<topic in base64url>`), numbered by JetStream; each
 * instance reads it with one ordered consumer and replays a topic with a
 * consumer filtered to its subject. The package stays free of dependencies:
 * pass the JetStream client and manager of `@nats-io/jetstream` (or anything
 * with the same few methods, typed by {@linkcode NatsJetStream} and
 * {@linkcode NatsJetStreamManager}).
 *
 * @example With `@nats-io/transport-node` and `@nats-io/jetstream`
 * ```ts ignore
 * import { connect } from "@nats-io/transport-node";
 * import { jetstream, jetstreamManager } from "@nats-io/jetstream";
 * import { NatsBus } from "@wsrpc/protocol/nats";
 *
 * const nc = await connect({ servers: "127.0.0.1:4222", maxReconnectAttempts: -1 });
 * const bus = new NatsBus({ js: jetstream(nc), jsm: await jetstreamManager(nc), connection: nc });
 * const server = new Server(api, { handlers, bus });
 * ```
 *
 * @module
 */

import type { Bus, BusHistory, BusListener, BusMessage, BusPosition } from "./topics.ts";

export type { Bus, BusHistory, BusListener, BusMessage, BusPosition } from "./topics.ts";

/** One JetStream message, as the consumer gives it. */
export interface NatsMessage {
  /** Its subject. */
  readonly subject: string;
  /** Its stream sequence. */
  readonly seq: number;
  /** Its data as text. */
  string(): string;
}

/** A JetStream consumer: what the bus reads with. */
export interface NatsConsumer {
  /** Delivers messages until closed. */
  consume(): Promise<AsyncIterable<NatsMessage> & { close(): Promise<unknown> }>;
  /** Up to `max_messages` messages, waiting at most `expires` ms. */
  fetch(options: { max_messages: number; expires: number }): Promise<AsyncIterable<NatsMessage>>;
  /** The consumer's state: how many messages it has yet to deliver. */
  info(): Promise<{ num_pending: number }>;
  /** Removes it from the server. */
  delete(): Promise<unknown>;
}

/** The JetStream client the bus publishes and reads with (`jetstream(nc)`). */
export interface NatsJetStream {
  /** Publishes and resolves with the stream's acknowledgement. */
  publish(subject: string, data: string): Promise<{ seq: number }>;
  /** Consumers; the bus makes ordered (ephemeral) ones. */
  consumers: {
    /** An ordered consumer of `stream` with these options. */
    get(
      stream: string,
      options: {
        filter_subjects: string;
        deliver_policy: "all" | "new" | "by_start_sequence";
        opt_start_seq?: number;
      },
    ): Promise<NatsConsumer>;
  };
}

/** What the bus needs of a stream's state. */
export interface NatsStreamInfo {
  /** When the stream was created: the bus's epoch. */
  readonly created: string;
  /** Its state. */
  readonly state: { readonly first_seq: number; readonly last_seq: number };
}

/** The JetStream manager the bus makes its stream with (`await jetstreamManager(nc)`). */
export interface NatsJetStreamManager {
  /** Streams. */
  streams: {
    /** A stream's info; rejects when it does not exist. */
    info(name: string): Promise<NatsStreamInfo>;
    /** Makes a stream. */
    add(config: {
      name: string;
      subjects: string[];
      max_msgs: number;
      max_age: number;
    }): Promise<NatsStreamInfo>;
  };
}

/** Options for {@linkcode NatsBus}. */
export interface NatsBusOptions {
  /** The JetStream client. */
  js: NatsJetStream;
  /** The JetStream manager. */
  jsm: NatsJetStreamManager;
  /** The connection, whose `status()` tells the bus when NATS goes and comes back. */
  connection?: { status(): AsyncIterable<{ type: string }> };
  /**
   * The stream's name.
   *
   * @default {"WSRPC"}
   */
  stream?: string;
  /**
   * The stream's subjects' prefix.
   *
   * @default {"wsrpc"}
   */
  prefix?: string;
  /**
   * Messages the stream keeps (over all topics), for replay.
   *
   * @default {1_000_000}
   */
  maxMessages?: number;
  /**
   * How long the stream keeps a message, in milliseconds; 0 for no limit.
   *
   * @default {0}
   */
  maxAgeMs?: number;
}

/**
 * The NATS bus: see the module's documentation.
 *
 * @example A publish, as JetStream numbers it (needs a NATS server with JetStream)
 * ```ts ignore
 * const bus = new NatsBus({ js, jsm });
 * const { seq, epoch } = await bus.publish("blocks", "x-block-notification", '{"height":7}');
 * const { messages } = await bus.history("blocks", { seq: seq - 1, epoch });
 * console.log(messages[0]?.payload); // {"height":7}
 * ```
 */
export class NatsBus implements Bus {
  readonly #options: NatsBusOptions;
  readonly #stream: string;
  readonly #prefix: string;
  readonly #counts = new Map<string, number>();
  #info: Promise<NatsStreamInfo> | undefined;
  #listener: BusListener | undefined;
  #live: Promise<void> | undefined;
  #messages: { close(): Promise<unknown> } | undefined;
  #epoch = "";
  #last = 0;
  #generation = 0;
  #closed = false;

  /**
   * Makes a bus on a JetStream connection; the stream is made on first use.
   *
   * @param options The clients and the stream's retention.
   */
  constructor(options: NatsBusOptions) {
    this.#options = options;
    this.#stream = options.stream ?? "WSRPC";
    this.#prefix = options.prefix ?? "wsrpc";
    this.#watch();
  }

  /** Publishes to the topic's subject; JetStream numbers it. */
  async publish(topic: string, command: string, payload: string): Promise<BusPosition> {
    const info = await this.#ready();
    const ack = await this.#options.js.publish(
      this.#subject(topic),
      `${JSON.stringify(command)}\n${payload}`,
    );
    return { seq: ack.seq, epoch: info.created };
  }

  /** Sets the listener. */
  listen(listener: BusListener): () => void {
    this.#listener = listener;
    return () => {
      if (this.#listener === listener) this.#listener = undefined;
    };
  }

  /** Delivers the topic from now on (this instance reads every topic; others are skipped). */
  async subscribe(topic: string): Promise<void> {
    this.#counts.set(topic, (this.#counts.get(topic) ?? 0) + 1);
    await (this.#live ??= this.#startLive());
  }

  /** Ends one subscribe. */
  unsubscribe(topic: string): void {
    const count = (this.#counts.get(topic) ?? 0) - 1;
    if (count > 0) this.#counts.set(topic, count);
    else this.#counts.delete(topic);
  }

  /** The retained messages of the topic after `after`, from a consumer filtered to its subject. */
  async history(topic: string, after: BusPosition): Promise<BusHistory> {
    const info = await this.#options.jsm.streams.info(this.#stream);
    const epoch = info.created;
    const sameEpoch = after.epoch === epoch;
    const start = sameEpoch ? after.seq + 1 : 1;
    const complete = sameEpoch && start >= info.state.first_seq;
    if (start > info.state.last_seq) return { messages: [], complete, epoch };
    const consumer = await this.#options.js.consumers.get(this.#stream, {
      filter_subjects: this.#subject(topic),
      deliver_policy: "by_start_sequence",
      opt_start_seq: start,
    });
    const messages: BusMessage[] = [];
    try {
      let pending = (await consumer.info()).num_pending;
      while (pending > 0) {
        const batch = await consumer.fetch({
          max_messages: Math.min(pending, 1000),
          expires: 2000,
        });
        let got = 0;
        for await (const m of batch) {
          messages.push(this.#toMessage(topic, m, epoch));
          got++;
        }
        if (got === 0) break;
        pending -= got;
      }
    } finally {
      await consumer.delete().catch(() => {});
    }
    return { messages, complete, epoch };
  }

  /** Stops reading; the connection stays the caller's. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#generation++;
    this.#counts.clear();
    await this.#messages?.close().catch(() => {});
  }

  #subject(topic: string): string {
    return `${this.#prefix}.t.${base64url(topic)}`;
  }

  #ready(): Promise<NatsStreamInfo> {
    return this.#info ??= this.#ensureStream().catch((error) => {
      this.#info = undefined;
      throw error;
    });
  }

  async #ensureStream(): Promise<NatsStreamInfo> {
    const { jsm, maxMessages, maxAgeMs } = this.#options;
    try {
      return await jsm.streams.info(this.#stream);
    } catch {
      return await jsm.streams.add({
        name: this.#stream,
        subjects: [`${this.#prefix}.>`],
        max_msgs: maxMessages ?? 1_000_000,
        max_age: (maxAgeMs ?? 0) * 1_000_000, // nanoseconds
      });
    }
  }

  /** One ordered consumer of the whole stream, from now on. */
  async #startLive(): Promise<void> {
    const info = await this.#ready();
    this.#epoch = info.created;
    this.#last = info.state.last_seq;
    await this.#consume();
  }

  /**
   * (Re)starts the consumer after the last sequence delivered. Messages of a
   * replaced consumer that are still in flight are dropped (`generation`).
   */
  async #consume(): Promise<void> {
    const generation = ++this.#generation;
    await this.#messages?.close().catch(() => {});
    const consumer = await this.#options.js.consumers.get(this.#stream, {
      filter_subjects: `${this.#prefix}.>`,
      deliver_policy: "by_start_sequence",
      opt_start_seq: this.#last + 1,
    });
    const messages = await consumer.consume();
    if (generation !== this.#generation || this.#closed) {
      await messages.close().catch(() => {});
      return;
    }
    this.#messages = messages;
    (async () => {
      for await (const m of messages) {
        if (generation !== this.#generation) break;
        this.#deliver(m);
      }
    })().catch((error) => this.#listener?.health?.("down", error));
  }

  /**
   * NATS is back: a pull request it held is gone, so the consumer starts
   * anew after the last message delivered, at once rather than after missed
   * heartbeats. A stream made anew (its store lost) is a new epoch: a gap
   * for every subscribed topic, read from its start.
   */
  async #reconnected(): Promise<void> {
    if (this.#live === undefined || this.#closed) return;
    for (let attempt = 0; attempt < 50 && !this.#closed; attempt++) {
      try {
        this.#info = undefined;
        const info = await this.#ready();
        if (info.created !== this.#epoch) {
          this.#epoch = info.created;
          this.#last = 0;
          for (const topic of this.#counts.keys()) this.#listener?.gap(topic, this.#epoch);
        }
        await this.#consume();
        this.#listener?.health?.("up");
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100)); // JetStream still starting
      }
    }
  }

  /**
   * A message of the stream. The consumer reads every subject of the stream,
   * so stream sequences arrive without holes: a hole (retention passed while
   * the consumer was away) is a gap for every subscribed topic.
   */
  #deliver(m: NatsMessage): void {
    if (m.seq <= this.#last) return; // already delivered
    if (m.seq !== this.#last + 1) {
      for (const topic of this.#counts.keys()) this.#listener?.gap(topic, this.#epoch);
    }
    this.#last = m.seq;
    const topic = unbase64url(m.subject.slice(this.#prefix.length + 3));
    if (!this.#counts.has(topic)) return;
    this.#listener?.message(this.#toMessage(topic, m, this.#epoch));
  }

  #toMessage(topic: string, m: NatsMessage, epoch: string): BusMessage {
    const text = m.string();
    const newline = text.indexOf("\n");
    return {
      topic,
      seq: m.seq,
      epoch,
      command: JSON.parse(text.slice(0, newline)),
      payload: text.slice(newline + 1),
    };
  }

  /** Reports the connection's drops and returns as health events. */
  #watch(): void {
    const connection = this.#options.connection;
    if (connection === undefined) return;
    (async () => {
      for await (const status of connection.status()) {
        if (this.#closed) return;
        if (status.type === "disconnect") this.#listener?.health?.("down");
        if (status.type === "reconnect") void this.#reconnected();
      }
    })().catch(() => {});
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A topic as one subject token: base64url of its UTF-8 (no `.`, `*`, `>` or spaces). */
function base64url(text: string): string {
  let binary = "";
  for (const byte of encoder.encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

function unbase64url(token: string): string {
  const binary = atob(token.replaceAll("-", "+").replaceAll("_", "/"));
  return decoder.decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}
