/**
 * The Redis and NATS buses on well-known clients: the `redis` npm client
 * (node-redis), Bun's built-in `RedisClient`, and `@nats-io/transport-node`
 * with `@nats-io/jetstream`. Dev-only dependencies of this folder
 * (`npm ci --prefix examples/cluster`); the package itself depends on none.
 *
 * @module
 */

import { createClient } from "redis";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { RedisBus, type RedisBusOptions, type RedisCommander } from "../../lib/redis.ts";
import { NatsBus, type NatsBusOptions } from "../../lib/nats.ts";
import type { Bus } from "../../lib/topics.ts";

/** A bus and what closes its clients. */
export interface ClientBus {
  bus: Bus;
  /** Closes the bus, then its connections. */
  close(): Promise<void>;
}

type Extra<O> = Omit<O, "client" | "reader" | "js" | "jsm" | "connection">;

/** A RedisBus on two node-redis connections that reconnect by themselves. */
export async function nodeRedisBus(
  url: string,
  options: Extra<RedisBusOptions> = {},
): Promise<ClientBus> {
  const reconnectStrategy = () => 100; // retry every 100 ms, forever
  const client = createClient({ url, socket: { reconnectStrategy } });
  client.on("error", () => {}); // reported by the bus as health "down"
  const reader = client.duplicate();
  reader.on("error", () => {});
  await Promise.all([client.connect(), reader.connect()]);
  const bus = new RedisBus({
    client: client,
    reader: reader,
    ...options,
  });
  return {
    bus,
    async close() {
      await bus.close();
      // The reader may be blocked in XREAD: destroy, not quit.
      reader.destroy();
      client.destroy();
    },
  };
}

interface BunRedis {
  send(command: string, args: string[]): Promise<unknown>;
  close(): void;
}

/** A RedisBus on two of Bun's built-in `RedisClient`s (Bun only). */
export async function bunRedisBus(
  url: string,
  options: Extra<RedisBusOptions> = {},
): Promise<ClientBus> {
  const { RedisClient } = (globalThis as unknown as {
    Bun: {
      RedisClient: new (
        url: string,
        options?: object,
      ) => BunRedis & { connect(): Promise<void> };
    };
  }).Bun;
  const open = async () => {
    const redis = new RedisClient(url, {
      autoReconnect: true,
      maxRetries: 1_000_000,
    });
    await redis.connect();
    return redis;
  };
  const [client, reader] = await Promise.all([open(), open()]);
  const commander = (redis: BunRedis): RedisCommander => ({
    sendCommand: (args) => redis.send(args[0]!, args.slice(1)),
  });
  const bus = new RedisBus({
    client: commander(client),
    reader: commander(reader),
    ...options,
  });
  return {
    bus,
    async close() {
      await bus.close();
      reader.close();
      client.close();
    },
  };
}

/** A NatsBus on `@nats-io/transport-node`, reconnecting forever. */
export async function natsBus(
  url: string,
  options: Extra<NatsBusOptions> = {},
): Promise<ClientBus> {
  const nc = await connect({
    servers: url.replace(/^nats:\/\//, ""),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
  });
  const bus = new NatsBus({
    js: jetstream(nc),
    jsm: await jetstreamManager(nc),
    connection: nc,
    ...options,
  });
  return {
    bus,
    async close() {
      await bus.close();
      await nc.close();
    },
  };
}
