/**
 * Scenario 2, server death: a client has `calls` slow requests in flight on a
 * server process that is then killed with SIGKILL. Every call must settle
 * with a {@linkcode ConnectionClosedError} within 1 s. The server is started
 * again on the same port: the client (reconnect on) must come back, a call
 * made while the server was down must succeed, new calls must succeed, and no
 * request may reach a server twice (server-side request logs are compared).
 *
 * @module
 */

import { Conn, ConnectionClosedError } from "../mod.ts";
import { percentile, sleep, spawnServer, stressAPI, waitFor } from "./_util.ts";

/** Parameters of {@linkcode serverDeath}. */
export interface ServerDeathOptions {
  /** Calls in flight when the server dies. */
  calls: number;
  /** Calls made after the reconnect. */
  after: number;
}

/** What {@linkcode serverDeath} measured. */
export interface ServerDeathResult {
  calls: number;
  /** Calls made after the reconnect (`options.after`). */
  after: number;
  /** Requests the server had received when it was killed. */
  receivedBeforeKill: number;
  /** Calls that rejected with ConnectionClosedError. */
  typedRejections: number;
  /** Other outcomes (resolved, or another error), with the first one's text. */
  otherOutcomes: number;
  firstOther: string;
  /** Time from SIGKILL to each call's rejection, ms. */
  settleP50Ms: number;
  settleMaxMs: number;
  /** Time from the new server listening to the client being online again, ms. */
  reconnectMs: number;
  /** Whether the call made while the server was down succeeded. */
  offlineCallOk: boolean;
  /** New calls after the reconnect that succeeded. */
  afterOk: number;
  /** Request ids seen by both servers, or twice by one: must be 0. */
  duplicateSends: number;
  /** Requests the new server received: `after` + 1 (the offline call). */
  receivedByNewServer: number;
}

/** Runs the scenario; see the module doc. */
export async function serverDeath(options: ServerDeathOptions): Promise<ServerDeathResult> {
  const limit = ["--max-in-flight", String(options.calls + 16)];
  const first = await spawnServer(["--log-requests", ...limit]);
  const conn = new Conn(first.url, {
    api: stressAPI,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    callTimeoutMs: 30_000,
  });
  let second: Awaited<ReturnType<typeof spawnServer>> | undefined;
  try {
    await conn.connect();
    const settled: { at: number; error: unknown; ok: boolean }[] = [];
    const calls = Array.from(
      { length: options.calls },
      () =>
        conn.call("demo-sleep-request", { ms: 20_000 }).then(
          () => settled.push({ at: performance.now(), error: undefined, ok: true }),
          (error) => settled.push({ at: performance.now(), error, ok: false }),
        ),
    );
    if (!await waitFor(() => first.requests.length >= options.calls, 20_000)) {
      throw new Error(`server received only ${first.requests.length} of ${options.calls} calls`);
    }
    const receivedBeforeKill = first.requests.length;
    const killedAt = performance.now();
    first.kill("SIGKILL");
    await Promise.all(calls);
    await first.exited;

    let typedRejections = 0;
    let otherOutcomes = 0;
    let firstOther = "";
    const settleMs: number[] = [];
    for (const s of settled) {
      settleMs.push(s.at - killedAt);
      if (!s.ok && s.error instanceof ConnectionClosedError) typedRejections++;
      else {
        otherOutcomes++;
        firstOther ||= s.ok ? "resolved" : String(s.error);
      }
    }

    // A call made while the server is down waits for the reconnect.
    await sleep(100);
    const offline = conn.call("demo-echo-request", { offline: true }).then(
      (r) => (r as { offline?: boolean })?.offline === true,
      () => false,
    );
    second = await spawnServer(["--port", String(first.port), "--log-requests", ...limit]);
    const listening = performance.now();
    await waitFor(() => conn.isOnline, 10_000);
    const reconnectMs = performance.now() - listening;
    const offlineCallOk = await offline;
    let afterOk = 0;
    await Promise.all(
      Array.from(
        { length: options.after },
        (_, i) =>
          conn.call("demo-echo-request", { i }).then((r) => {
            if ((r as { i?: number })?.i === i) afterOk++;
          }, () => {}),
      ),
    );

    const ids = [...first.requests, ...second.requests].map((line) => line.split(" ")[2]);
    const duplicateSends = ids.length - new Set(ids).size;
    return {
      calls: options.calls,
      after: options.after,
      receivedBeforeKill,
      typedRejections,
      otherOutcomes,
      firstOther,
      settleP50Ms: Math.round(percentile(settleMs, 50)),
      settleMaxMs: Math.round(Math.max(...settleMs)),
      reconnectMs: Math.round(reconnectMs),
      offlineCallOk,
      afterOk,
      duplicateSends,
      receivedByNewServer: second.requests.length,
    };
  } finally {
    await conn.close();
    first.kill("SIGKILL");
    await first.exited;
    if (second) {
      second.kill("SIGTERM");
      await second.exited;
    }
  }
}
