/**
 * Scenario 5, floods, against a server process with the ed25519
 * authenticator: (A) `connections` authenticated connections opened and held,
 * (B) a handshake flood of raw connections that upgrade and then never finish
 * the handshake (half send a bogus hello), (C) a request flood well past each
 * connection's in-flight limit. Throughout, a well-behaved authenticated
 * client in a process of its own (stress/probe.ts) keeps pinging; its latency
 * is reported per phase, and every one of its calls must succeed.
 *
 * @module
 */

import { Conn, ProtocolError } from "../mod.ts";
import { messageOf } from "../lib/framing.ts";
import { ed25519Client } from "../lib/ed25519_authenticator.ts";
import { generateKeyPair } from "../lib/ed25519_keys.ts";
import { forEachLine, mb, percentile, RawClient, sleep, spawnServer, stressAPI } from "./_util.ts";

/** Parameters of {@linkcode floods}. */
export interface FloodsOptions {
  /** Authenticated connections held open in phase A. */
  connections: number;
  /** Raw connections that stall the handshake in phase B. */
  handshakes: number;
  /** The server's handshake timeout, ms. */
  handshakeTimeoutMs: number;
  /** Connections flooding requests in phase C, and for how long, ms. */
  flooders: number;
  floodMs: number;
  /** The server's in-flight limit per connection. */
  maxInFlight: number;
}

/** Latency of the well-behaved client in one phase. */
export interface Probe {
  calls: number;
  failed: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** What {@linkcode floods} measured. */
export interface FloodsResult {
  baseline: Probe;
  /** Phase A. */
  connections: number;
  connectSeconds: number;
  connectsPerSecond: number;
  duringConnect: Probe;
  whileHeld: Probe;
  serverSessionsHeld: number;
  serverRssIdleMB: number;
  serverRssHeldMB: number;
  /** Server memory per held authenticated connection, KB. */
  perConnectionKB: number;
  /** Phase B. */
  handshakes: number;
  duringHandshakeFlood: Probe;
  handshakeCloseCodes: Record<string, number>;
  /** Phase C. */
  floodRequests: number;
  floodAnswered: number;
  floodRefusedInFlight: number;
  floodOtherErrors: number;
  duringRequestFlood: Probe;
  /** After everything closed. */
  sessionsAfter: number;
}

/** A probe process (stress/probe.ts) and the samples it has printed. */
async function startProbe(
  url: string,
  secretKey: string,
  serverPublicKey: string,
): Promise<{ samples: { at: number; ms: number; ok: boolean }[]; stop(): Promise<void> }> {
  const script = new URL("./probe.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, url, secretKey, serverPublicKey],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const samples: { at: number; ms: number; ok: boolean }[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => ready = resolve);
  const pump = forEachLine(child.stdout, (line) => {
    if (line === "ready") ready();
    const [at, ms, ok] = line.split(" ");
    if (ok !== undefined) samples.push({ at: Number(at), ms: Number(ms), ok: ok === "ok" });
  }).then(ready);
  await isReady;
  return {
    samples,
    async stop() {
      await child.stdin.close();
      await Promise.all([child.status, pump]);
    },
  };
}

/** The probe's samples between `from` and `to` (unix ms). */
function window(
  samples: { at: number; ms: number; ok: boolean }[],
  from: number,
  to: number,
): Probe {
  const inside = samples.filter((s) => s.at >= from && s.at <= to);
  const latencies = inside.filter((s) => s.ok).map((s) => s.ms);
  const r = (v: number) => Math.round(v * 10) / 10;
  return {
    calls: inside.length,
    failed: inside.length - latencies.length,
    p50Ms: r(percentile(latencies, 50)),
    p99Ms: r(percentile(latencies, 99)),
    maxMs: r(Math.max(...latencies)),
  };
}

/** Runs `task` over `items` with at most `limit` at once. */
async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await task(items[next++]!);
  }));
}

/** Runs the scenario; see the module doc. */
export async function floods(options: FloodsOptions): Promise<FloodsResult> {
  const serverKey = await generateKeyPair();
  const clientKey = await generateKeyPair();
  const child = await spawnServer([
    "--secret",
    serverKey.secretKey.toHex(),
    "--max-connections",
    String(options.connections + options.handshakes + options.flooders + 100),
    "--handshake-timeout-ms",
    String(options.handshakeTimeoutMs),
    "--max-in-flight",
    String(options.maxInFlight),
  ], { nofile: 65536 });
  const authenticator = ed25519Client({
    secretKey: clientKey.secretKey,
    serverPublicKey: serverKey.publicKey,
  });
  const newConn = () =>
    new Conn(child.url, { api: stressAPI, authenticator, callTimeoutMs: 30_000 });
  let probe: Awaited<ReturnType<typeof startProbe>> | undefined;
  const held: Conn<typeof stressAPI>[] = [];
  const raw: RawClient[] = [];
  try {
    probe = await startProbe(
      child.url,
      clientKey.secretKey.toHex(),
      serverKey.publicKey.toHex(),
    );
    const marks: number[] = [Date.now()];
    await sleep(1_000);
    marks.push(Date.now()); // baseline
    const idle = await child.stats();

    // A: connections, opened 64 at a time, then held.
    marks.push(Date.now());
    const connectStart = performance.now();
    const conns = Array.from({ length: options.connections }, newConn);
    await pool(conns, 64, async (c) => {
      await c.connect();
      held.push(c);
    });
    const connectSeconds = (performance.now() - connectStart) / 1000;
    marks.push(Date.now()); // during connect
    await sleep(1_000);
    marks.push(Date.now()); // while held
    const heldStats = await child.stats();

    // B: handshake flood: upgrade, then stall (half send a bogus hello).
    marks.push(Date.now());
    const hello = JSON.stringify(messageOf("ed25519-hello", "", {
      userAgent: "flood",
      publickey: "00".repeat(32),
      nonce: "00".repeat(16),
    }));
    const handshakeCloseCodes: Record<string, number> = {};
    const stalled: Promise<void>[] = [];
    await pool(Array.from({ length: options.handshakes }, (_, i) => i), 64, async (i) => {
      const c = await RawClient.connect(child.port);
      raw.push(c);
      if (i % 2 === 1) await c.sendText(hello);
      stalled.push(
        c.readUntilClose().then((code) => {
          handshakeCloseCodes[code] = (handshakeCloseCodes[code] ?? 0) + 1;
          c.close();
        }),
      );
    });
    await Promise.all(stalled);
    marks.push(Date.now()); // during the handshake flood

    // C: request flood past the in-flight limit.
    const flooders = await Promise.all(Array.from({ length: options.flooders }, async () => {
      const c = newConn();
      await c.connect();
      held.push(c);
      return c;
    }));
    marks.push(Date.now());
    let floodRequests = 0;
    let floodAnswered = 0;
    let floodRefusedInFlight = 0;
    let floodOtherErrors = 0;
    const floodUntil = performance.now() + options.floodMs;
    await Promise.all(flooders.map(async (c) => {
      while (performance.now() < floodUntil) {
        const burst = Array.from({ length: options.maxInFlight * 4 }, () => {
          floodRequests++;
          return c.call("demo-sleep-request", { ms: 20 }).then(() => {
            floodAnswered++;
          }, (error) => {
            if (error instanceof ProtocolError && error.message.startsWith("too many requests")) {
              floodRefusedInFlight++;
            } else floodOtherErrors++;
          });
        });
        await Promise.all(burst);
      }
    }));
    marks.push(Date.now()); // during the request flood
    await probe.stop();
    const samples = probe.samples;
    probe = undefined;
    const baseline = window(samples, marks[0]!, marks[1]!);
    const duringConnect = window(samples, marks[2]!, marks[3]!);
    const whileHeld = window(samples, marks[3]!, marks[4]!);
    const duringHandshakeFlood = window(samples, marks[5]!, marks[6]!);
    const duringRequestFlood = window(samples, marks[7]!, marks[8]!);

    await Promise.all(held.map((c) => c.close()));
    held.length = 0;
    await sleep(500);
    let after = await child.stats();
    for (let i = 0; i < 50 && after.sessions > 0; i++) {
      await sleep(100);
      after = await child.stats();
    }
    return {
      baseline,
      connections: options.connections,
      connectSeconds: Math.round(connectSeconds * 10) / 10,
      connectsPerSecond: Math.round(options.connections / connectSeconds),
      duringConnect,
      whileHeld,
      serverSessionsHeld: heldStats.sessions - 1, // less the probe
      serverRssIdleMB: mb(idle.rss),
      serverRssHeldMB: mb(heldStats.rss),
      perConnectionKB: Math.round((heldStats.rss - idle.rss) / options.connections / 102.4) / 10,
      handshakes: options.handshakes,
      duringHandshakeFlood,
      handshakeCloseCodes,
      floodRequests,
      floodAnswered,
      floodRefusedInFlight,
      floodOtherErrors,
      duringRequestFlood,
      sessionsAfter: after.sessions,
    };
  } finally {
    for (const c of raw) c.close();
    await Promise.all(held.map((c) => c.close()));
    await probe?.stop();
    child.kill("SIGTERM");
    await child.exited;
  }
}
