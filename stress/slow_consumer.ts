/**
 * Scenario 4, slow consumer: raw TCP clients upgrade, ask the server to push
 * a large stream (`stress-push-request`), and then never read, so the kernel
 * buffers fill and the server's socket reports a growing `bufferedAmount`.
 * Past `writeHighWaterMark` the server's writes wait; after `writeTimeoutMs`
 * the server closes the client with 1008. Checked: the server's memory stays
 * bounded while it waits, each client is closed with 1008 (read from the wire
 * once the client finally drains its socket), and the sessions are freed.
 *
 * @module
 */

import { messageOf } from "../lib/framing.ts";
import { gc, mb, RawClient, sleep, startServer, waitFor } from "./_util.ts";

/** Parameters of {@linkcode slowConsumer}. */
export interface SlowConsumerOptions {
  /** Clients that stop reading. */
  clients: number;
  /** The server's `writeHighWaterMark`, bytes. */
  highWaterMark: number;
  /** The server's `writeTimeoutMs`. */
  writeTimeoutMs: number;
  /** Size of each pushed message, bytes. */
  pushSize: number;
  /** Pushes asked for per client (more than can be buffered). */
  pushCount: number;
}

/** What {@linkcode slowConsumer} measured. */
export interface SlowConsumerResult {
  clients: number;
  highWaterMarkMB: number;
  /** Size of each push, MB. */
  pushSizeMB: number;
  /** The server's `writeTimeoutMs`. */
  writeTimeoutMs: number;
  /** Pushes asked for, all clients together. */
  requestedPushes: number;
  /** Bytes asked for in all, MB: what an unbounded server would have to hold. */
  requestedMB: number;
  /** Pushes the server wrote before its writes started waiting. */
  pushedWhileBlocked: number;
  /** Pushed bytes per client before the wait, MB (kernel buffers plus the high-water mark). */
  pushedPerClientMB: number;
  rssBeforeMB: number;
  /** Highest RSS while the clients were not reading. */
  rssPeakMB: number;
  heapBeforeMB: number;
  heapPeakMB: number;
  /** Time from the request to the server closing the client, ms (about writeTimeoutMs). */
  closedAfterMs: number;
  /** The error the server's push saw. */
  pushError: string;
  /** Close codes the clients read once they drained their sockets. */
  closeCodes: Record<string, number>;
  sessionsAfter: number;
}

/** Runs the scenario; see the module doc. */
export async function slowConsumer(options: SlowConsumerOptions): Promise<SlowConsumerResult> {
  const srv = startServer({
    writeHighWaterMark: options.highWaterMark,
    writeTimeoutMs: options.writeTimeoutMs,
    maxConnections: options.clients + 10,
  });
  const clients: RawClient[] = [];
  try {
    gc();
    const before = Deno.memoryUsage();
    for (let i = 0; i < options.clients; i++) clients.push(await RawClient.connect(srv.port));
    if (!await waitFor(() => srv.server.sessions.size === options.clients, 5_000)) {
      throw new Error(`slow-consumer: only ${srv.server.sessions.size} sessions opened`);
    }
    const started = performance.now();
    await Promise.all(clients.map((c) =>
      c.sendText(
        JSON.stringify(
          messageOf("stress-push-request", "1", {
            count: options.pushCount,
            size: options.pushSize,
          }),
        ),
      )
    ));
    // Sample memory until every session has been closed by the server.
    let rssPeak = 0;
    let heapPeak = 0;
    let pushedWhileBlocked = 0;
    let closedAfterMs = 0;
    while (performance.now() - started < options.writeTimeoutMs + 20_000) {
      const mem = Deno.memoryUsage();
      rssPeak = Math.max(rssPeak, mem.rss);
      heapPeak = Math.max(heapPeak, mem.heapUsed);
      if (performance.now() - started < options.writeTimeoutMs / 2) {
        pushedWhileBlocked = srv.counters.pushed;
      }
      if (srv.counters.pushError !== "" && closedAfterMs === 0) {
        closedAfterMs = Math.round(performance.now() - started);
      }
      if (
        srv.counters.received["stress-push-request"] === options.clients &&
        srv.counters.running === 0 && srv.server.sessions.size === 0
      ) break;
      await sleep(50);
    }
    const sessionsAfter = srv.server.sessions.size;
    // The clients now drain their sockets: the last frame must be a 1008 close.
    const closeCodes: Record<string, number> = {};
    await Promise.all(clients.map(async (c) => {
      const code = await c.readUntilClose();
      closeCodes[code] = (closeCodes[code] ?? 0) + 1;
    }));
    return {
      clients: options.clients,
      highWaterMarkMB: mb(options.highWaterMark),
      pushSizeMB: mb(options.pushSize),
      writeTimeoutMs: options.writeTimeoutMs,
      requestedPushes: options.clients * options.pushCount,
      requestedMB: mb(options.clients * options.pushCount * options.pushSize),
      pushedWhileBlocked,
      pushedPerClientMB: mb(pushedWhileBlocked * options.pushSize / options.clients),
      rssBeforeMB: mb(before.rss),
      rssPeakMB: mb(rssPeak),
      heapBeforeMB: mb(before.heapUsed),
      heapPeakMB: mb(heapPeak),
      closedAfterMs,
      pushError: srv.counters.pushError,
      closeCodes,
      sessionsAfter,
    };
  } finally {
    for (const c of clients) c.close();
    await srv.close();
  }
}
