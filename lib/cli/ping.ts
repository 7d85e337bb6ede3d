/** `wsrpc ping URL`: measure round-trip times, like ping(8). */

import { safeText } from "../_safe_text.ts";
import { type CliError, EXIT_CODES_HELP, ExitCode, usage } from "./_errors.ts";
import { callError, connect, CONNECTION_FLAGS } from "./_connect.ts";
import { flagHelp, type FlagValues, parseCount, parseDuration, positionalCount } from "./_flags.ts";
import type { CliIO } from "./_io.ts";
import { command, type Run } from "./_command.ts";
import { errorText } from "./_output.ts";

const PING_FLAGS = {
  count: {
    type: "string",
    short: "c",
    value: "N",
    help: "stop after N pings (default: until interrupted)",
  },
  interval: {
    type: "string",
    short: "i",
    value: "TIME",
    help: "time between pings (default 1s)",
  },
  command: {
    type: "string",
    value: "NAME",
    help: "the ping command (default: the server's first message's)",
  },
} as const;

const FLAGS = { ...PING_FLAGS, ...CONNECTION_FLAGS } as const;

/** `wsrpc ping --help`. */
export const HELP = `wsrpc ping: measure round-trip times, like ping(8)

Usage: wsrpc ping URL [flags]

Sends the ping request {"timestamp": <unix seconds>} every interval and prints
each round-trip time, then a summary (on --count, or when interrupted). The
command defaults to the one of the ping the server sends first (e.g.
"tbcapi-ping-request"). Exits 0 when every ping got an answer without error.

Example:
  wsrpc ping ws://127.0.0.1:8080/v1/ws --count 3

Flags:
${flagHelp(PING_FLAGS)}

Connection flags:
${flagHelp(CONNECTION_FLAGS)}

${EXIT_CODES_HELP}`;

/** Runs `wsrpc ping ARGS...`; returns the exit code. SIGINT stops it with the summary. */
export const run: Run = command("ping", FLAGS, HELP, ping);

async function ping(
  flags: FlagValues<typeof FLAGS>,
  positionals: string[],
  io: CliIO,
): Promise<number> {
  positionalCount("ping", positionals, 1, 1, "URL");
  const count = parseCount(flags.count, "count", "ping");
  const intervalMs = flags.interval === undefined
    ? 1_000
    : parseDuration(flags.interval, "interval", "ping");
  const { conn, first, url } = await connect("ping", positionals[0]!, flags, io);
  const stop = new AbortController();
  const removeListener = io.onSignal("SIGINT", () => stop.abort());
  try {
    const firstCommand = (first as { header?: { command?: unknown } })?.header?.command;
    const command = flags.command ?? (typeof firstCommand === "string" ? firstCommand : undefined);
    if (command === undefined) {
      throw usage(
        "cannot tell the ping command from the server's first message: use --command",
        "ping",
      );
    }
    const host = new URL(url).host;
    io.print(`PING ${url} (${safeText(command)})`);
    const times: number[] = [];
    let sent = 0;
    let failure: CliError | undefined;
    const started = performance.now();
    for (let seq = 1; count === undefined || seq <= count; seq++) {
      if (stop.signal.aborted) break;
      sent++;
      const start = performance.now();
      try {
        const response = await conn.call(
          command,
          { timestamp: Math.floor(Date.now() / 1000) },
          { signal: stop.signal },
        );
        const ms = performance.now() - start;
        const text = errorText(response);
        if (text === undefined) {
          times.push(ms);
          io.print(`reply from ${host}: seq=${seq} time=${ms.toFixed(3)} ms`);
        } else {
          io.print(`error from ${host}: seq=${seq} ${text}`);
        }
      } catch (error) {
        if (stop.signal.aborted) {
          sent--; // interrupted while waiting: not counted
          break;
        }
        if (error instanceof DOMException && error.name === "TimeoutError") {
          io.print(`timeout: seq=${seq}`);
        } else {
          failure = callError(command, error);
          break;
        }
      }
      if (count === undefined || seq < count) await sleep(intervalMs, stop.signal);
    }
    printStatistics(io, url, sent, times, performance.now() - started);
    if (failure !== undefined) throw failure;
    return sent - times.length === 0 && sent > 0 ? ExitCode.OK : ExitCode.Failed;
  } finally {
    removeListener();
    await conn.close();
  }
}

/** The summary, as ping(8) prints it. */
function printStatistics(
  io: CliIO,
  url: string,
  sent: number,
  times: number[],
  elapsed: number,
): void {
  const lost = sent - times.length;
  io.print(`--- ${url} ping statistics ---`);
  io.print(
    `${sent} sent, ${times.length} received, ${
      sent === 0 ? 0 : Math.round(lost / sent * 100)
    }% loss, time ${Math.round(elapsed)} ms`,
  );
  if (times.length > 0) {
    const min = Math.min(...times);
    const max = Math.max(...times);
    const avg = times.reduce((a, b) => a + b, 0) / times.length;
    const mdev = Math.sqrt(times.reduce((a, t) => a + (t - avg) ** 2, 0) / times.length);
    io.print(
      `rtt min/avg/max/mdev = ${[min, avg, max, mdev].map((t) => t.toFixed(3)).join("/")} ms`,
    );
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
