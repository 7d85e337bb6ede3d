/**
 * Scenario 1, fuzz: a seeded generator of hostile frames (truncated and
 * invalid JSON, wrong types in every field, huge numbers, deep nesting,
 * `__proto__`/`constructor` keys, unknown commands, binary frames, oversized
 * frames, ids of every type) sent by several connections at once, while a
 * well-behaved client keeps calling and checks every answer.
 *
 * Checked: no unhandled rejection or uncaught error, `Object.prototype` and
 * friends untouched, every well-behaved call answered correctly, the server
 * still serving at the end, and memory back near its start after a GC.
 *
 * @module
 */

import { Conn } from "../mod.ts";
import {
  gc,
  mb,
  percentile,
  prng,
  prototypeSnapshot,
  sleep,
  startServer,
  stressAPI,
} from "./_util.ts";

/** One hostile frame and the family it belongs to. */
export interface HostileFrame {
  kind: string;
  data: string | Uint8Array;
}

const COMMANDS = [
  "demo-ping-request",
  "demo-echo-request",
  "demo-notify-request",
  "demo-fail-request",
  "demo-sleep-request",
  "demo-ping-response",
  "demo-event-notification",
  "unknown-command-request",
  "",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "x".repeat(300),
];

/** The read limit the fuzzed server runs with; oversized frames exceed it. */
export const FUZZ_READ_LIMIT = 64 * 1024;

/** Makes hostile frames from a seeded PRNG. */
export function hostileFrames(seed: number): () => HostileFrame {
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const weirdValue = (depth = 0): unknown => {
    switch (int(depth > 3 ? 9 : 12)) {
      case 0:
        return null;
      case 1:
        return rand() < 0.5;
      case 2:
        return pick([0, -0, 1, -1, 2 ** 53, -(2 ** 53), 1e308, -1e308, 5e-324, 0.1]);
      case 3:
        return pick(["", "0", "1", "\u0000", "\ud800", "é", "🙂", "x".repeat(1000), "[]", "{}"]);
      case 4:
        return int(1_000_000);
      case 5:
        return pick(["__proto__", "constructor", "prototype", "toString"]);
      case 6:
        return rand().toString(36);
      case 7:
        return pick([{}, [], [null], { ms: -1 }, { count: 1e9 }, { timestamp: "x" }]);
      case 8:
        return -int(1000);
      case 9:
        return Array.from({ length: int(4) }, () => weirdValue(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = int(4); i > 0; i--) {
          o[pick(["a", "ms", "count", "error", "id"])] = weirdValue(depth + 1);
        }
        return o;
      }
    }
  };
  const message = (header: unknown, payload: unknown) =>
    JSON.stringify({ header, payload }) ?? "null";
  const validish = () => message({ command: pick(COMMANDS), id: String(int(1000)) }, weirdValue());
  const families: [string, () => string | Uint8Array][] = [
    ["truncated JSON", () => {
      const text = validish();
      return text.slice(0, int(text.length));
    }],
    ["invalid JSON", () =>
      pick([
        "{",
        "}",
        "[",
        "nul",
        "{'a':1}",
        '{"header":}',
        "NaN",
        "undefined",
        '{"a":1,}',
        "\u0000",
        "0x10",
        '"\\x"',
        String.fromCharCode(...Array.from({ length: 1 + int(40) }, () => int(0xd7ff))),
      ])],
    ["wrong-type header", () => message(weirdValue(), weirdValue())],
    [
      "wrong-type command",
      () => message({ command: weirdValue(), id: String(int(100)) }, weirdValue()),
    ],
    ["wrong-type id", () =>
      message(
        {
          command: pick(COMMANDS.slice(0, 5)),
          id: pick([1, -1, 1.5, true, false, {}, [], ["1"], 2 ** 64, 1e308, { __proto__: null }]),
        },
        null,
      )],
    ["odd string id", () =>
      message(
        {
          command: "demo-echo-request",
          id: pick(["", "0", "-1", "1e3", " 1", "🙂", "\u0000", "x".repeat(5000), "__proto__"]),
        },
        weirdValue(),
      )],
    [
      "huge numbers",
      () =>
        `{"header":{"command":"demo-echo-request","id":"${int(1000)}"},"payload":${
          pick([
            "1e400",
            "-1e400",
            "123456789012345678901234567890123456789",
            "-9223372036854775809",
            "18446744073709551616",
            "0.0000000000000000000000000000000000000001",
            "1" + "0".repeat(5000),
          ])
        }}`,
    ],
    ["deep nesting", () => {
      const depth = pick([63, 64, 65, 100, 1000, 10_000, 50_000]);
      const [open, close] = rand() < 0.5 ? ["[", "]"] : ['{"a":', "}"];
      return `{"header":{"command":"demo-echo-request","id":"1"},"payload":${open.repeat(depth)}1${
        close.repeat(depth)
      }}`;
    }],
    ["prototype keys", () =>
      pick([
        '{"__proto__":{"polluted":1},"header":{"command":"demo-echo-request","id":"2"},"payload":null}',
        '{"header":{"__proto__":{"command":"demo-echo-request","id":"3"}},"payload":null}',
        '{"header":{"command":"demo-echo-request","id":"4","__proto__":{"polluted":1}},"payload":{"__proto__":{"polluted":1}}}',
        '{"header":{"command":"demo-echo-request","id":"5"},"payload":{"constructor":{"prototype":{"polluted":1}}}}',
        '{"header":{"command":"__proto__","id":"6"},"payload":{"polluted":1}}',
        '{"header":{"command":"constructor","id":"7"},"payload":null}',
        '{"header":{"command":"demo-notify-request","id":"8"},"payload":{"__proto__":{"count":3}}}',
        '{"header":{"command":"demo-sleep-request","id":"9"},"payload":{"constructor":{"ms":1}}}',
      ])],
    ["unknown command", () => message({ command: `nope-${int(1e6)}-request`, id: "1" }, null)],
    ["binary frame", () => crypto.getRandomValues(new Uint8Array(1 + int(64)))],
    ["oversized frame", () => "x".repeat(FUZZ_READ_LIMIT + 1 + int(FUZZ_READ_LIMIT))],
    [
      "oversized valid JSON",
      () => message({ command: "demo-echo-request", id: "1" }, "y".repeat(FUZZ_READ_LIMIT)),
    ],
    ["valid-ish request", validish],
    ["demo command, hostile payload", () =>
      message(
        {
          command: pick(["demo-notify-request", "demo-sleep-request", "demo-ping-request"]),
          id: String(int(1000)),
        },
        pick([
          { count: -1 },
          { count: 1.5 },
          { count: 1e12 },
          { ms: 1e12 },
          { ms: "5" },
          {
            ms: -0,
          },
          { ms: 2 },
          { count: 2 },
          weirdValue(),
        ]),
      )],
    ["empty or scalar frame", () => pick(["", " ", "null", "1", '"s"', "[]", "{}", "true"])],
  ];
  return () => {
    const [kind, make] = pick(families);
    return { kind, data: make() };
  };
}

/** Parameters of {@linkcode fuzz}. */
export interface FuzzOptions {
  seed: number;
  /** Hostile frames to send in all. */
  frames: number;
  /** Hostile connections at once. */
  concurrency: number;
  /**
   * After the run, how long to wait for the heap to return within 8 MB of
   * its start (Deno keeps sockets closed by the server while their client
   * was still sending for some seconds); 0 to measure at once.
   */
  settleMs?: number;
}

/** What {@linkcode fuzz} measured. */
export interface FuzzResult {
  seed: number;
  frames: number;
  framesPerSecond: number;
  hostileConnections: number;
  /** Close codes the hostile connections saw, by code. */
  closeCodes: Record<string, number>;
  /** Frames sent, by family. */
  kinds: Record<string, number>;
  unhandledRejections: number;
  uncaughtErrors: number;
  prototypeClean: boolean;
  goodCalls: number;
  goodCallsWrong: number;
  goodP99Ms: number;
  rssStartMB: number;
  rssEndMB: number;
  heapStartMB: number;
  heapEndMB: number;
  /** Heap kept after a GC per hostile connection, KB (see denoCloseLeak). */
  heapPerConnectionKB: number;
  /** Heap after waiting up to `settleMs` for it to return, and how long that took. */
  heapSettledMB: number;
  settledAfterMs: number;
  sessionsAfter: number;
}

/** Runs the scenario; see the module doc. */
export async function fuzz(options: FuzzOptions): Promise<FuzzResult> {
  let unhandledRejections = 0;
  let uncaughtErrors = 0;
  const onRejection = (e: PromiseRejectionEvent) => {
    unhandledRejections++;
    e.preventDefault();
  };
  const onError = (e: ErrorEvent) => {
    uncaughtErrors++;
    e.preventDefault();
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  globalThis.addEventListener("error", onError);
  const protoBefore = prototypeSnapshot();
  const srv = startServer({ readLimit: FUZZ_READ_LIMIT, maxInFlight: 16 });
  const good = new Conn(srv.url, { api: stressAPI, callTimeoutMs: 10_000 });
  try {
    gc();
    const memStart = Deno.memoryUsage();
    await good.connect();

    // The well-behaved client: echo calls with a fresh payload, checked.
    let stop = false;
    let goodCalls = 0;
    let goodCallsWrong = 0;
    const latencies: number[] = [];
    const goodLoop = (async () => {
      const rand = prng(options.seed ^ 0x5eed);
      while (!stop) {
        const payload = {
          n: goodCalls,
          s: rand().toString(36),
          big: 2n ** 64n + BigInt(goodCalls),
        };
        const start = performance.now();
        try {
          const answer = await good.call("demo-echo-request", payload) as typeof payload;
          latencies.push(performance.now() - start);
          if (answer?.n !== payload.n || answer.s !== payload.s || answer.big !== payload.big) {
            goodCallsWrong++;
          }
        } catch {
          goodCallsWrong++;
        }
        goodCalls++;
        await sleep(2);
      }
    })();

    const next = hostileFrames(options.seed);
    const kinds: Record<string, number> = {};
    const closeCodes: Record<string, number> = {};
    let sent = 0;
    let hostileConnections = 0;
    const started = performance.now();
    const worker = async () => {
      while (sent < options.frames) {
        const ws = new WebSocket(srv.url);
        hostileConnections++;
        const closed = new Promise<number>((resolve) =>
          ws.addEventListener("close", (e) => resolve(e.code))
        );
        const opened = await new Promise<boolean>((resolve) => {
          ws.addEventListener("open", () => resolve(true));
          ws.addEventListener("close", () => resolve(false));
        });
        if (opened) {
          // Up to 50 frames per connection, until the server closes it.
          for (
            let i = 0;
            i < 50 && sent < options.frames && ws.readyState === WebSocket.OPEN;
            i++
          ) {
            const frame = next();
            kinds[frame.kind] = (kinds[frame.kind] ?? 0) + 1;
            sent++;
            ws.send(frame.data);
            if (i % 8 === 7) await sleep(0);
          }
          await sleep(1);
          if (ws.readyState === WebSocket.OPEN) ws.close();
        }
        const code = await closed;
        closeCodes[code] = (closeCodes[code] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const seconds = (performance.now() - started) / 1000;
    await sleep(100);
    stop = true;
    await goodLoop;
    // The server still answers correctly after the storm.
    const after = await good.call("demo-echo-request", { after: true }) as { after?: boolean };
    if (after?.after !== true) goodCallsWrong++;
    await good.close();
    await sleep(200);
    gc();
    const memEnd = Deno.memoryUsage();
    const settleStart = performance.now();
    let heapSettled = memEnd.heapUsed;
    while (
      heapSettled - memStart.heapUsed > 8e6 &&
      performance.now() - settleStart < (options.settleMs ?? 0)
    ) {
      await sleep(500);
      gc();
      heapSettled = Deno.memoryUsage().heapUsed;
    }
    return {
      seed: options.seed,
      frames: sent,
      framesPerSecond: Math.round(sent / seconds),
      hostileConnections,
      closeCodes,
      kinds,
      unhandledRejections,
      uncaughtErrors,
      prototypeClean: prototypeSnapshot() === protoBefore &&
        (({}) as Record<string, unknown>).polluted === undefined,
      goodCalls,
      goodCallsWrong,
      goodP99Ms: Math.round(percentile(latencies, 99) * 10) / 10,
      rssStartMB: mb(memStart.rss),
      rssEndMB: mb(memEnd.rss),
      heapStartMB: mb(memStart.heapUsed),
      heapEndMB: mb(memEnd.heapUsed),
      heapPerConnectionKB:
        Math.round((memEnd.heapUsed - memStart.heapUsed) / hostileConnections / 102.4) / 10,
      heapSettledMB: mb(heapSettled),
      settledAfterMs: Math.round(performance.now() - settleStart),
      sessionsAfter: srv.server.sessions.size,
    };
  } finally {
    await good.close();
    await srv.close();
    globalThis.removeEventListener("unhandledrejection", onRejection);
    globalThis.removeEventListener("error", onError);
  }
}

/**
 * A control without wsrpc: a bare `Deno.upgradeWebSocket` server that closes
 * each socket with 1008 on its first message while the client keeps sending
 * (what the fuzz's hostile connections do). Returns the JS heap kept per
 * connection after a GC, KB: the runtime's own retention, for comparison
 * with the fuzz's `heapPerConnectionKB`.
 */
export async function denoCloseLeak(connections: number): Promise<number> {
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onmessage = () => socket.close(1008, "bye");
    return response;
  });
  try {
    gc();
    const before = Deno.memoryUsage().heapUsed;
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next++ < connections) {
        const ws = new WebSocket(`ws://127.0.0.1:${http.addr.port}`);
        await new Promise((resolve) => ws.onopen = resolve);
        const closed = new Promise((resolve) => ws.onclose = resolve);
        ws.onerror = () => {};
        for (let i = 0; i < 20; i++) ws.send("x".repeat(100));
        await closed;
      }
    }));
    await sleep(100);
    gc();
    return Math.round((Deno.memoryUsage().heapUsed - before) / connections / 102.4) / 10;
  } finally {
    await http.shutdown();
  }
}
