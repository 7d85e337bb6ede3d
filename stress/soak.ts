/**
 * Scenario 6, soak: a bounded churn run against a server process with the
 * ed25519 authenticator. Workers repeatedly connect, authenticate, call and
 * disconnect. The server's sessions, requests in flight, RSS and heap (after
 * a GC) are read at a baseline (after a warm-up) and at the end: sessions and
 * in-flight return to zero, and memory returns to its baseline.
 *
 * @module
 */

import { Conn } from "../mod.ts";
import { ed25519Client } from "../lib/ed25519_authenticator.ts";
import { generateKeyPair } from "../lib/ed25519_keys.ts";
import { mb, sleep, spawnServer, stressAPI } from "./_util.ts";

/** Parameters of {@linkcode soak}. */
export interface SoakOptions {
  /** Connect-call-disconnect cycles in all (after the warm-up). */
  cycles: number;
  /** Workers at once. */
  concurrency: number;
  /** Calls per connection. */
  callsEach: number;
}

/** What {@linkcode soak} measured. */
export interface SoakResult {
  cycles: number;
  cyclesPerSecond: number;
  failures: number;
  firstFailure: string;
  /** Server figures at the baseline (after the warm-up), at each quarter, and at the end. */
  rssMB: number[];
  heapMB: number[];
  sessions: number[];
  sessionsAfter: number;
  inFlightAfter: number;
  /** End minus baseline. */
  rssGrowthMB: number;
  heapGrowthMB: number;
}

/** Runs the scenario; see the module doc. */
export async function soak(options: SoakOptions): Promise<SoakResult> {
  const serverKey = await generateKeyPair();
  const clientKey = await generateKeyPair();
  const child = await spawnServer(["--secret", serverKey.secretKey.toHex()]);
  const authenticator = ed25519Client({
    secretKey: clientKey.secretKey,
    serverPublicKey: serverKey.publicKey,
  });
  let failures = 0;
  let firstFailure = "";
  const cycle = async (n: number) => {
    const conn = new Conn(child.url, { api: stressAPI, authenticator, callTimeoutMs: 10_000 });
    try {
      await conn.connect();
      for (let i = 0; i < options.callsEach; i++) {
        const answer = await conn.call("demo-echo-request", { n, i }) as { n: number; i: number };
        if (answer.n !== n || answer.i !== i) {
          throw new Error(`wrong answer ${JSON.stringify(answer)}`);
        }
      }
    } catch (error) {
      failures++;
      firstFailure ||= String(error);
    } finally {
      await conn.close();
    }
  };
  const run = async (count: number) => {
    let next = 0;
    await Promise.all(Array.from({ length: options.concurrency }, async () => {
      while (next < count) await cycle(next++);
    }));
  };
  try {
    await run(Math.min(200, options.cycles)); // warm-up: JIT, pools, allocator
    await sleep(300);
    const rssMB: number[] = [];
    const heapMB: number[] = [];
    const sessions: number[] = [];
    const sample = async () => {
      const s = await child.stats();
      rssMB.push(mb(s.rss));
      heapMB.push(mb(s.heapUsed));
      sessions.push(s.sessions);
    };
    await sample();
    const start = performance.now();
    for (let q = 0; q < 4; q++) {
      await run(Math.ceil(options.cycles / 4));
      if (q < 3) await sample();
    }
    const seconds = (performance.now() - start) / 1000;
    await sleep(500);
    let end = await child.stats();
    for (let i = 0; i < 30 && end.sessions > 0; i++) {
      await sleep(100);
      end = await child.stats();
    }
    rssMB.push(mb(end.rss));
    heapMB.push(mb(end.heapUsed));
    sessions.push(end.sessions);
    return {
      cycles: Math.ceil(options.cycles / 4) * 4,
      cyclesPerSecond: Math.round((Math.ceil(options.cycles / 4) * 4) / seconds),
      failures,
      firstFailure,
      rssMB,
      heapMB,
      sessions,
      sessionsAfter: end.sessions,
      inFlightAfter: end.inFlight,
      rssGrowthMB: Math.round((rssMB.at(-1)! - rssMB[0]!) * 10) / 10,
      heapGrowthMB: Math.round((heapMB.at(-1)! - heapMB[0]!) * 10) / 10,
    };
  } finally {
    child.kill("SIGTERM");
    await child.exited;
  }
}
