/**
 * A {@linkcode Bus} on Redis Streams, so that servers in many processes and
 * on many machines share topics: each topic is a stream (`XADD` with
 * `MAXLEN ~` retention) numbered without holes by a Lua script, delivered by
 * one `XREAD BLOCK` loop per instance and replayed with `XRANGE`. The package
 * stays free of dependencies: pass two connections of the Redis client of
 * your choice, typed by the minimal {@linkcode RedisCommander}.
 *
 * @example With the `redis` npm client (node-redis)
 * ```ts ignore
 * import { createClient } from "redis";
 * import { Server } from "@wsrpc/protocol";
 * import { RedisBus } from "@wsrpc/protocol/redis";
 *
 * const client = await createClient({ url: "redis://127.0.0.1:6379" }).connect();
 * const reader = await client.duplicate().connect(); // XREAD BLOCK holds its connection
 * const server = new Server(api, { handlers, bus: new RedisBus({ client, reader }) });
 * ```
 *
 * @example With Bun's built-in client
 * ```ts ignore
 * import { RedisClient } from "bun";
 * import { RedisBus } from "@wsrpc/protocol/redis";
 *
 * const commander = (redis: RedisClient) => ({
 *   sendCommand: (args: string[]) => redis.send(args[0]!, args.slice(1)),
 * });
 * const bus = new RedisBus({
 *   client: commander(new RedisClient("redis://127.0.0.1:6379")),
 *   reader: commander(new RedisClient("redis://127.0.0.1:6379")),
 * });
 * ```
 *
 * @module
 */

import { historyAfter } from "./_history.ts";
import type { Bus, BusHistory, BusListener, BusMessage, BusPosition } from "./topics.ts";

export type { Bus, BusHistory, BusListener, BusMessage, BusPosition } from "./topics.ts";

/**
 * The one thing the bus needs of a Redis connection: send a command, get its
 * reply (RESP2 or RESP3). node-redis's client has it as is; wrap Bun's
 * `RedisClient` as `{ sendCommand: (a) => redis.send(a[0], a.slice(1)) }`.
 */
export interface RedisCommander {
  /** Sends one command (name first) and resolves with its reply. */
  sendCommand(args: string[]): Promise<unknown>;
}

/** Options for {@linkcode RedisBus}. */
export interface RedisBusOptions {
  /** A connection for publishing and reading history. */
  client: RedisCommander;
  /** A second connection, held by this instance's `XREAD BLOCK` loop. */
  reader: RedisCommander;
  /**
   * Prefix of every key (`PREFIX:{topic}` streams, `PREFIX:{topic}:meta` hashes).
   *
   * @default {"wsrpc"}
   */
  prefix?: string;
  /**
   * Messages kept per topic for replay (`XADD MAXLEN ~`: at least this many).
   *
   * @default {10_000}
   */
  maxLen?: number;
  /**
   * How long one `XREAD` blocks, in milliseconds.
   *
   * @default {5_000}
   */
  blockMs?: number;
  /**
   * Pause between retries while Redis is unreachable, in milliseconds.
   *
   * @default {250}
   */
  retryMs?: number;
}

// INCR-like numbering and the append in one step, so that publishers on many
// instances agree on each topic's order; a new epoch when the hash is gone.
const PUBLISH_SCRIPT = `
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
redis.call('HSETNX', KEYS[2], 'epoch', ARGV[3])
local epoch = redis.call('HGET', KEYS[2], 'epoch')
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], seq .. '-0', 'c', ARGV[1], 'p', ARGV[2], 'e', epoch)
return {seq, epoch}`;

interface Position {
  seq: number;
  epoch: string;
}

/**
 * The Redis bus: see the module's documentation.
 *
 * @example A publish, as Redis numbers it (needs a Redis server)
 * ```ts ignore
 * const bus = new RedisBus({ client, reader });
 * const { seq, epoch } = await bus.publish("blocks", "x-block-notification", '{"height":7}');
 * const { messages } = await bus.history("blocks", { seq: seq - 1, epoch });
 * console.log(messages[0]?.payload); // {"height":7}
 * ```
 */
export class RedisBus implements Bus {
  readonly #client: RedisCommander;
  readonly #reader: RedisCommander;
  readonly #prefix: string;
  readonly #maxLen: string;
  readonly #blockMs: string;
  readonly #retryMs: number;
  readonly #wakeKey: string;
  #wakeID = "$";
  readonly #positions = new Map<string, Position>();
  readonly #counts = new Map<string, number>();
  #listener: BusListener | undefined;
  #loop: Promise<void> | undefined;
  #closed = false;
  #down = false;

  /**
   * Makes a bus on two Redis connections; it starts reading on the first subscribe.
   *
   * @param options The connections and retention.
   */
  constructor(options: RedisBusOptions) {
    this.#client = options.client;
    this.#reader = options.reader;
    this.#prefix = options.prefix ?? "wsrpc";
    this.#maxLen = String(options.maxLen ?? 10_000);
    this.#blockMs = String(options.blockMs ?? 5_000);
    this.#retryMs = options.retryMs ?? 250;
    this.#wakeKey = `${this.#prefix}:wake:${crypto.randomUUID()}`;
  }

  /** Appends to the topic's stream; Redis numbers it. */
  async publish(topic: string, command: string, payload: string): Promise<BusPosition> {
    const reply = await this.#client.sendCommand([
      "EVAL",
      PUBLISH_SCRIPT,
      "2",
      this.#streamKey(topic),
      this.#metaKey(topic),
      command,
      payload,
      crypto.randomUUID(),
      this.#maxLen,
    ]) as [unknown, unknown];
    return { seq: Number(reply[0]), epoch: String(reply[1]) };
  }

  /** Sets the listener. */
  listen(listener: BusListener): () => void {
    this.#listener = listener;
    return () => {
      if (this.#listener === listener) this.#listener = undefined;
    };
  }

  /** Delivers the topic from its current head on. */
  async subscribe(topic: string): Promise<void> {
    const count = (this.#counts.get(topic) ?? 0) + 1;
    this.#counts.set(topic, count);
    if (count > 1) return;
    const head = await this.#head(topic);
    if (this.#counts.has(topic) && !this.#positions.has(topic)) this.#positions.set(topic, head);
    this.#loop ??= this.#read();
    await this.#wake();
  }

  /** Ends one subscribe. */
  unsubscribe(topic: string): void {
    const count = (this.#counts.get(topic) ?? 0) - 1;
    if (count > 0) {
      this.#counts.set(topic, count);
      return;
    }
    this.#counts.delete(topic);
    this.#positions.delete(topic);
  }

  /** The retained messages after `after` (`XRANGE`). */
  async history(topic: string, after: BusPosition): Promise<BusHistory> {
    const head = await this.#head(topic);
    const start = after.epoch === head.epoch ? `(${after.seq}-0` : "-";
    const reply = await this.#client.sendCommand(["XRANGE", this.#streamKey(topic), start, "+"]);
    const messages = entries(reply).map(([id, fields]) => toMessage(topic, id, fields));
    return historyAfter(
      messages.filter((m) => m.epoch === head.epoch),
      head.seq,
      head.epoch,
      after,
    );
  }

  /** Stops the read loop; the connections stay the caller's. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#positions.clear();
    this.#counts.clear();
    if (this.#loop !== undefined) {
      await this.#wake().catch(() => {});
      await this.#loop;
    }
    await this.#client.sendCommand(["DEL", this.#wakeKey]).catch(() => {});
  }

  #streamKey(topic: string): string {
    return `${this.#prefix}:{${topic}}`;
  }

  #metaKey(topic: string): string {
    return `${this.#prefix}:{${topic}}:meta`;
  }

  async #head(topic: string): Promise<Position> {
    const [seq, epoch] = await this.#client.sendCommand(
      ["HMGET", this.#metaKey(topic), "seq", "epoch"],
    ) as [unknown, unknown];
    return { seq: Number(seq ?? 0), epoch: epoch == null ? "" : String(epoch) };
  }

  /** Interrupts the loop's `XREAD` so that it reads the new set of topics. */
  async #wake(): Promise<void> {
    await this.#client.sendCommand(["XADD", this.#wakeKey, "MAXLEN", "1", "*", "w", "1"]);
    await this.#client.sendCommand(["PEXPIRE", this.#wakeKey, "60000"]);
  }

  async #read(): Promise<void> {
    while (!this.#closed) {
      const topics = [...this.#positions.keys()];
      const args = ["XREAD", "COUNT", "1000", "BLOCK", this.#blockMs, "STREAMS"];
      for (const topic of topics) args.push(this.#streamKey(topic));
      args.push(this.#wakeKey);
      for (const topic of topics) args.push(`${this.#positions.get(topic)!.seq}-0`);
      args.push(this.#wakeID);
      let reply: unknown;
      try {
        reply = await this.#reader.sendCommand(args);
      } catch (error) {
        if (this.#closed) return;
        if (!this.#down) {
          this.#down = true;
          this.#listener?.health?.("down", error);
        }
        await new Promise((resolve) => setTimeout(resolve, this.#retryMs));
        continue;
      }
      if (this.#down) await this.#recover();
      for (const [key, list] of streams(reply)) {
        if (key === this.#wakeKey) {
          this.#wakeID = list.at(-1)?.[0] ?? this.#wakeID;
          continue;
        }
        const topic = key.slice(this.#prefix.length + 2, -1);
        for (const [id, fields] of list) this.#deliver(toMessage(topic, id, fields));
      }
    }
  }

  /** One message from the loop: delivered, after a gap when some before it are gone. */
  #deliver(message: BusMessage): void {
    const position = this.#positions.get(message.topic);
    if (position === undefined || message.seq <= position.seq && message.epoch === position.epoch) {
      return; // unsubscribed, or already delivered
    }
    if (message.seq !== position.seq + 1 || message.epoch !== position.epoch && position.seq > 0) {
      this.#listener?.gap(message.topic, message.epoch);
    }
    position.seq = message.seq;
    position.epoch = message.epoch;
    this.#listener?.message(message);
  }

  /**
   * Redis is back: a topic whose epoch changed lost its history (a restart
   * without persistence): its readers are told, and it is read from its
   * new start.
   */
  async #recover(): Promise<void> {
    this.#wakeID = "$";
    for (const [topic, position] of this.#positions) {
      let head: Position;
      try {
        head = await this.#head(topic);
      } catch {
        return; // down again: the loop retries
      }
      if (head.epoch !== position.epoch && position.seq > 0) {
        this.#listener?.gap(topic, head.epoch);
        position.seq = 0;
      }
      position.epoch = head.epoch;
    }
    this.#down = false;
    this.#listener?.health?.("up");
  }
}

type Entry = [id: string, fields: unknown];

/** `XREAD`'s reply as [key, entries] pairs, from RESP2 (arrays) or RESP3 (a map). */
function streams(reply: unknown): [string, Entry[]][] {
  if (reply == null) return [];
  const pairs = Array.isArray(reply)
    ? reply as [unknown, unknown][]
    : reply instanceof Map
    ? [...reply.entries()]
    : Object.entries(reply as Record<string, unknown>);
  return pairs.map(([key, list]) => [String(key), entries(list)]);
}

function entries(list: unknown): Entry[] {
  return Array.isArray(list) ? list.map((e) => [String(e[0]), e[1]] as Entry) : [];
}

function toMessage(topic: string, id: string, fields: unknown): BusMessage {
  const get = fieldReader(fields);
  return {
    topic,
    seq: Number(id.slice(0, id.indexOf("-"))),
    epoch: get("e"),
    command: get("c"),
    payload: get("p"),
  };
}

/** An entry's fields, from a flat [field, value, ...] array or a map. */
function fieldReader(fields: unknown): (name: string) => string {
  if (Array.isArray(fields)) {
    return (name) => {
      for (let i = 0; i < fields.length; i += 2) {
        if (String(fields[i]) === name) return String(fields[i + 1]);
      }
      return "";
    };
  }
  if (fields instanceof Map) return (name) => String(fields.get(name) ?? "");
  return (name) => String((fields as Record<string, unknown>)?.[name] ?? "");
}
