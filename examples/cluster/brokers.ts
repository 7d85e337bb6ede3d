/**
 * Starts and stops a throwaway `redis-server` or `nats-server -js` on a free
 * loopback port, for the cluster demo, the tests and the benchmark. Both come
 * from Debian: `apt-get install redis-server nats-server`.
 *
 * @module
 */

/** A running broker. */
export interface Broker {
  /** `redis://127.0.0.1:PORT` or `nats://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  /** Kills it (SIGKILL: a crash, not a shutdown) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port (and, for NATS, the same store). */
  restart(): Promise<void>;
  /** Stops it and removes its files. */
  stop(): Promise<void>;
}

/** Where Debian installs them. */
export const REDIS_SERVER = Deno.env.get("REDIS_SERVER") ??
  "/usr/bin/redis-server";
export const NATS_SERVER = Deno.env.get("NATS_SERVER") ??
  "/usr/sbin/nats-server";

/** Whether a file exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A port nothing listens on now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitForPort(
  port: number,
  child: Deno.ChildProcess,
  name: string,
): Promise<void> {
  const until = Date.now() + 10_000;
  let exited = false;
  child.status.then(() => exited = true);
  while (Date.now() < until && !exited) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  throw new Error(`${name} did not listen on 127.0.0.1:${port}`);
}

async function startBroker(
  name: string,
  args: (port: number, dir: string) => [string, string[]],
  scheme: string,
): Promise<Broker> {
  const dir = await Deno.makeTempDir({ prefix: `wsrpc-${name}-` });
  const port = freePort();
  let child: Deno.ChildProcess;
  const spawn = async () => {
    const [cmd, argv] = args(port, dir);
    child = new Deno.Command(cmd, {
      args: argv,
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitForPort(port, child, name);
  };
  const kill = async () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
  };
  await spawn();
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    kill,
    restart: spawn,
    async stop() {
      await kill();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** A `redis-server` without persistence: a restart loses its streams (a new epoch). */
export function startRedis(): Promise<Broker> {
  return startBroker("redis", (port, dir) => [REDIS_SERVER, [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
  ]], "redis");
}

/** A `nats-server` with JetStream on a file store: a restart keeps its streams. */
export function startNats(): Promise<Broker> {
  return startBroker("nats", (port, dir) => [NATS_SERVER, [
    "-a",
    "127.0.0.1",
    "-p",
    String(port),
    "-js",
    "-sd",
    dir,
  ]], "nats");
}
