/**
 * `wsrpc`: poke a wsrpc server from the shell, as grpcurl does for gRPC and
 * websocat for WebSocket. Schemaless: any command name, any JSON payload.
 *
 * ```sh
 * deno run -A jsr:@wsrpc/protocol/cli serve --port 8080 &
 * deno run -A jsr:@wsrpc/protocol/cli call ws://127.0.0.1:8080/v1/ws demo-echo-request '{"hi":1}'
 * deno install -g -A -n wsrpc jsr:@wsrpc/protocol/cli
 * ```
 *
 * Commands: `call`, `listen`, `ping`, `serve` (the demo server), `keygen`;
 * `wsrpc --help` lists them, `wsrpc COMMAND --help` their flags. Exit codes:
 * 0 ok, 1 the response carried an error or the call failed, 2 usage error,
 * 3 cannot connect, 4 handshake failed.
 *
 * Built on the package's public API only; it runs on Deno.
 *
 * @module
 */

import {
  type Authenticator,
  Conn,
  ConnectionClosedError,
  type ConnOptions,
  ed25519Client,
  ed25519Server,
  HandshakeError,
  ProtocolError,
  schemalessAPI,
  Server,
  type WebSocketLike,
} from "../mod.ts";
import { decodeKey, generateKeyPair, publicKeyFromSecret } from "./ed25519.ts";
import { STATUS_HANDSHAKE_ERR } from "./errors.ts";
import { serve as serveDeno, type WsrpcHttpServer } from "./deno.ts";
import { demoAPI, demoHandlers } from "./demo.ts";
import { safeLines, safeText } from "./_safe_text.ts";
import denoConfig from "../deno.json" with { type: "json" };

// Exit codes.
const OK = 0;
const FAILED = 1;
const USAGE = 2;
const CONNECT = 3;
const HANDSHAKE = 4;

/** An error that ends the program with a message on stderr and an exit code. */
class CliError extends Error {
  readonly exitCode: number;
  readonly command: string | undefined;
  constructor(message: string, exitCode: number, command?: string) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
    this.command = command;
  }
}

function usage(message: string, command?: string): CliError {
  return new CliError(message, USAGE, command);
}

// Help.

const EXIT_CODES = `Exit codes:
  0  success
  1  the response carried an error, or the call failed (timeout, connection lost)
  2  usage error: unknown flag, bad URL, invalid JSON payload, unreadable file
  3  cannot connect: connection refused, DNS failure, HTTP error, connect timeout
  4  handshake failed: key mismatch, key refused, server not speaking ed25519`;

const CONNECTION_FLAGS = `Connection flags:
      --key FILE         ed25519 secret key file (see "wsrpc keygen"): authenticate with it
      --server-key KEY   the server public key to expect (hex, or a file holding it);
                         without --key, an ephemeral client key is made
  -H, --header K:V       add a header to the upgrade request (repeatable)
      --timeout TIME     time allowed to connect and for each call: 500ms, 10s, 2m
                         (default: 20s to connect, 60s per call)
      --read-limit SIZE  largest incoming message: 16MiB, 512KiB, 1000000 (default 512KiB)
  -v, --verbose          print every frame sent (>) and received (<) on stderr
  -h, --help             show this help`;

const HELP: Record<string, string> = {
  main: `wsrpc ${denoConfig.version}: a command line for wsrpc (WebSocket RPC) servers

Every WebSocket text frame is one JSON message {"header":{"command","id"},"payload"};
the server sends a ping first; responses carry their request's id; pushes have none.

Usage:
  wsrpc call URL COMMAND [PAYLOAD]       send one request, print the response payload
  wsrpc listen URL [COMMAND [PAYLOAD]]   print the messages the server pushes
  wsrpc ping URL                         measure round-trip times, like ping(8)
  wsrpc serve                            run the demo server (API prefix "demo")
  wsrpc keygen                           make an ed25519 key pair for authentication
  wsrpc help [COMMAND]                   show a command's help

Flags: wsrpc COMMAND --help; wsrpc --version.

Example:
  wsrpc serve --port 8080 &
  wsrpc call ws://127.0.0.1:8080/v1/ws demo-echo-request '{"hello":"world"}'

${EXIT_CODES}`,

  call: `wsrpc call: send one request and print the response payload

Usage: wsrpc call URL COMMAND [PAYLOAD] [flags]

Connects (reading the server's first message, as the protocol requires), sends
COMMAND with PAYLOAD, and prints the response payload as JSON: indented on a
terminal, one line when piped. A response whose payload carries "error" prints
the payload, then the error's text on stderr, and exits 1.

PAYLOAD is JSON text (default {}, as Go clients send for a request without
parameters: Go servers in the tbcd style crash on a null request), @FILE to read
it from a file, or - for stdin; put a payload that starts with "-" (a negative
number) after --. Integers beyond 2^53 keep every digit, both ways.

Examples:
  wsrpc call ws://127.0.0.1:8080/v1/ws demo-ping-request '{"timestamp":1}'
  wsrpc call ws://127.0.0.1:8080/v1/ws demo-echo-request @payload.json
  echo '{"n":18446744073709551615}' | wsrpc call ws://127.0.0.1:8080/v1/ws demo-echo-request -

Output flags:
      --pretty           indent the output even when piped
      --compact          one line even on a terminal

${CONNECTION_FLAGS}

${EXIT_CODES}`,

  listen: `wsrpc listen: print the messages the server pushes, one JSON line each

Usage: wsrpc listen URL [COMMAND [PAYLOAD]] [flags]

Connects and prints every push (a message with no id, or one that answers no
request of ours) as one line of JSON, the whole message as it came. With
COMMAND, first sends that request (a subscription, say; PAYLOAD as for call,
default {}) and fails if its response carries an error. Without --count it runs until the server closes the
connection (exit 0 for a normal close) or you interrupt it.

Examples:
  wsrpc listen ws://127.0.0.1:8080/v1/ws demo-notify-request '{"count":3}' --count 3
  wsrpc listen wss://example.net/v1/ws | jq .payload

Flags:
  -n, --count N          stop after N messages

${CONNECTION_FLAGS}

${EXIT_CODES}`,

  ping: `wsrpc ping: measure round-trip times, like ping(8)

Usage: wsrpc ping URL [flags]

Sends the ping request {"timestamp": <unix seconds>} every interval and prints
each round-trip time, then a summary (on --count, or when interrupted). The
command defaults to the one of the ping the server sends first (e.g.
"tbcapi-ping-request"). Exits 0 when every ping got an answer without error.

Example:
  wsrpc ping ws://127.0.0.1:8080/v1/ws --count 3

Flags:
  -c, --count N          stop after N pings (default: until interrupted)
  -i, --interval TIME    time between pings (default 1s)
      --command NAME     the ping command (default: the server's first message's)

${CONNECTION_FLAGS}

${EXIT_CODES}`,

  serve: `wsrpc serve: run the demo server

Usage: wsrpc serve [flags]

Serves the demo API on ws://HOST:PORT/v1/ws and prints that URL as its first
line of output; logs sessions on stderr. SIGINT or SIGTERM shut it down
gracefully (in-flight requests finish, clients get 1001). Commands:

  demo-ping-request    {"timestamp"}  ->  {"origintimestamp","timestamp"}
  demo-echo-request    any            ->  the payload unchanged
  demo-notify-request  {"count": n}   ->  {"count": n}, then n pushes
                                          demo-event-notification {"seq": i}
  demo-fail-request    any            ->  {"error": {...}}
  demo-sleep-request   {"ms": n}      ->  {"ms": n} after n ms

With --key or --allow, clients must authenticate with ed25519 (wsrpc --key).

Examples:
  wsrpc serve --port 0
  wsrpc keygen --out server.key && wsrpc keygen --out client.key
  wsrpc serve --key server.key --allow client.key.pub

Flags:
  -p, --port PORT        port to listen on; 0 picks a free one (default 8080)
      --host HOST        address to listen on (default 127.0.0.1)
      --allow-host NAME  a host name clients may use in Host (any port); repeatable.
                         Bound to loopback, only localhost, 127.0.0.1, [::1] and the
                         --host name are accepted by default (DNS rebinding): others get 421
      --key FILE         the server's ed25519 secret key: clients can pin its public key
      --allow KEY        a client public key that may connect (hex, or a file with one
                         key per line); repeatable. Without it, any client with a key may
  -v, --verbose          log every request on stderr
  -h, --help             show this help

Exit codes: 0 after a graceful shutdown, 1 when it cannot listen, 2 usage error.`,

  keygen: `wsrpc keygen: make an ed25519 key pair

Usage: wsrpc keygen [flags]

Writes the secret key (32-byte seed, hex) to FILE with mode 0600 and the public
key to FILE.pub, and prints the public key. Give FILE to --key, and FILE.pub
(or the printed key) to --server-key or --allow.

Example:
  wsrpc keygen --out client.key

Flags:
  -o, --out FILE         where to write the secret key (default wsrpc.key)
  -f, --force            overwrite existing files
  -h, --help             show this help

Exit codes: 0 success, 1 cannot write the files (or they exist), 2 usage error.`,
};

// Argument parsing: a small parser, so that errors are one clear line.

interface FlagSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
}

type FlagValues = Record<string, string | string[] | boolean | undefined>;

const CONNECTION_SPECS: Record<string, FlagSpec> = {
  key: { type: "string" },
  "server-key": { type: "string" },
  header: { type: "string", short: "H", multiple: true },
  timeout: { type: "string" },
  "read-limit": { type: "string" },
  verbose: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
};

const SPECS: Record<string, Record<string, FlagSpec>> = {
  call: {
    ...CONNECTION_SPECS,
    pretty: { type: "boolean" },
    compact: { type: "boolean" },
  },
  listen: { ...CONNECTION_SPECS, count: { type: "string", short: "n" } },
  ping: {
    ...CONNECTION_SPECS,
    count: { type: "string", short: "c" },
    interval: { type: "string", short: "i" },
    command: { type: "string" },
  },
  serve: {
    port: { type: "string", short: "p" },
    host: { type: "string" },
    "allow-host": { type: "string", multiple: true },
    key: { type: "string" },
    allow: { type: "string", multiple: true },
    verbose: { type: "boolean", short: "v" },
    help: { type: "boolean", short: "h" },
  },
  keygen: {
    out: { type: "string", short: "o" },
    force: { type: "boolean", short: "f" },
    help: { type: "boolean", short: "h" },
  },
};

function parseFlags(
  command: string,
  args: string[],
): { flags: FlagValues; positionals: string[] } {
  const specs = SPECS[command]!;
  const flags: FlagValues = {};
  const positionals: string[] = [];
  const byShort = new Map(
    Object.entries(specs).filter(([, s]) => s.short).map(([name, s]) => [s.short!, name]),
  );
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg === "-" || !arg.startsWith("-")) {
      positionals.push(arg);
      continue;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = arg.slice(2, eq < 0 ? undefined : eq);
      if (eq >= 0) inline = arg.slice(eq + 1);
      if (!Object.hasOwn(specs, name)) throw usage(`unknown flag "--${name}"`, command);
    } else {
      name = byShort.get(arg.slice(1, 2));
      if (name === undefined) throw usage(`unknown flag "${arg.slice(0, 2)}"`, command);
      if (arg.length > 2) inline = arg.slice(2);
    }
    const spec = specs[name]!;
    if (spec.type === "boolean") {
      if (inline !== undefined) throw usage(`flag "--${name}" takes no value`, command);
      flags[name] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= args.length) throw usage(`flag "--${name}" needs a value`, command);
      value = args[++i]!;
    }
    if (spec.multiple) {
      const list = (flags[name] as string[] | undefined) ?? [];
      list.push(value);
      flags[name] = list;
    } else {
      flags[name] = value;
    }
  }
  return { flags, positionals };
}

function positionalCount(
  command: string,
  positionals: string[],
  min: number,
  max: number,
  names: string,
): void {
  if (positionals.length < min) throw usage(`missing arguments: expected ${names}`, command);
  if (positionals.length > max) {
    throw usage(`unexpected argument ${JSON.stringify(positionals[max])}`, command);
  }
}

/** Parses `500ms`, `10s`, `2m`, or a bare number of seconds, into milliseconds. */
function parseDuration(text: string, flag: string, command: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw usage(`invalid duration for --${flag}: ${JSON.stringify(text)}`, command);
  const unit = m[2] === "ms" ? 1 : m[2] === "m" ? 60_000 : 1_000;
  const ms = Number(m[1]) * unit;
  if (!(ms > 0) || !Number.isFinite(ms)) {
    throw usage(`invalid duration for --${flag}: ${JSON.stringify(text)}`, command);
  }
  return Math.ceil(ms);
}

/** Parses `512KiB`, `16MiB`, `1000000` (bytes). */
function parseSize(text: string, flag: string, command: string): number {
  const m = /^(\d+)\s*(b|k|kb|kib|m|mb|mib)?$/i.exec(text.trim());
  if (!m || Number(m[1]) <= 0) {
    throw usage(`invalid size for --${flag}: ${JSON.stringify(text)}`, command);
  }
  const unit = (m[2] ?? "b").toLowerCase()[0];
  return Number(m[1]) * (unit === "k" ? 1024 : unit === "m" ? 1024 * 1024 : 1);
}

function parseCount(text: string | undefined, flag: string, command: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw usage(
      `invalid --${flag}: expected a positive integer, got ${JSON.stringify(text)}`,
      command,
    );
  }
  return Number(text);
}

function parseHeaders(list: string[] | undefined, command: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const entry of list ?? []) {
    const colon = entry.indexOf(":");
    const name = colon < 0 ? "" : entry.slice(0, colon).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw usage(`invalid --header ${JSON.stringify(entry)}: expected NAME:VALUE`, command);
    }
    headers[name] = entry.slice(colon + 1).trim();
  }
  return headers;
}

// JSON: integers beyond 2^53 - 1 stay exact (bigint), both ways.

const INTEGER_SOURCE = /^-?\d+$/;

function parseJSONExact(text: string): unknown {
  return JSON.parse(
    text,
    ((_key: string, value: unknown, context?: { source?: string }) =>
      typeof value === "number" && !Number.isSafeInteger(value) &&
        context?.source !== undefined && INTEGER_SOURCE.test(context.source)
        ? BigInt(context.source)
        : value) as Parameters<typeof JSON.parse>[1],
  );
}

function formatJSON(value: unknown, pretty: boolean): string {
  const raw = JSON as unknown as { rawJSON(text: string): unknown };
  return JSON.stringify(
    value,
    (_key, v) => typeof v === "bigint" ? raw.rawJSON(v.toString()) : v,
    pretty ? 2 : undefined,
  ) ?? "null";
}

/** Where JSON text first goes wrong: the UTF-16 offset, or undefined when it is valid. */
function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const space = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const string = () => {
    i++; // the opening quote
    for (;;) {
      if (i >= text.length) fail();
      const c = text[i]!;
      if (c === '"') {
        i++;
        return;
      }
      if (c === "\\") {
        i++;
        if (text[i] === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 5;
        } else if (text[i] !== undefined && '"\\/bfnrt'.includes(text[i]!)) i++;
        else fail();
      } else if (c < " ") fail();
      else i++;
    }
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (): void => {
    space();
    const c = text[i];
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      i++;
      space();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === "{") {
          space();
          if (text[i] !== '"') fail();
          string();
          space();
          if (text[i] !== ":") fail();
          i++;
        }
        value();
        space();
        if (text[i] === ",") i++;
        else if (text[i] === close) {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '"') return string();
    NUMBER.lastIndex = i;
    if (NUMBER.test(text)) {
      i = NUMBER.lastIndex;
      return;
    }
    for (const literal of ["true", "false", "null"]) {
      if (text.startsWith(literal, i)) {
        i += literal.length;
        return;
      }
    }
    fail();
  };
  try {
    value();
    space();
    if (i < text.length) fail();
    return undefined;
  } catch (at) {
    return typeof at === "number" ? at : undefined; // a RangeError: nested too deeply to scan
  }
}

function parsePayload(text: string, source: string, command: string): unknown {
  try {
    return parseJSONExact(text);
  } catch (error) {
    const detail = (error as Error).message
      .replace(/ in JSON at position \d+.*$/, "")
      .replace(/, ".*" is not valid JSON$/s, "");
    const offset = jsonErrorOffset(text) ??
      Number(/at position (\d+)/.exec((error as Error).message)?.[1] ?? text.length);
    const before = text.slice(0, offset).split("\n");
    const where = `at position ${offset} (line ${before.length}, column ${
      before.at(-1)!.length + 1
    })`;
    throw usage(`invalid JSON payload${source}: ${detail} ${where}`, command);
  }
}

async function readPayload(arg: string | undefined, command: string): Promise<unknown> {
  // Go clients send {} (an empty struct) for a request without parameters;
  // hemi-based servers turn null into a nil payload and their handlers panic.
  if (arg === undefined) return {};
  if (arg === "-") {
    const text = await new Response(Deno.stdin.readable).text();
    return parsePayload(text, " from stdin", command);
  }
  if (arg.startsWith("@")) {
    const path = arg.slice(1);
    return parsePayload(await readFile(path, "payload file", command), ` in "${path}"`, command);
  }
  return parsePayload(arg, "", command);
}

async function readFile(path: string, what: string, command: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw usage(`cannot read ${what} "${path}": ${(error as Error).message}`, command);
  }
}

// Keys.

const HEX_KEY = /^[0-9a-fA-F]{64}$/;

async function readSecretKey(path: string, command: string): Promise<Uint8Array> {
  const text = (await readFile(path, "key file", command)).trim();
  let key: Uint8Array;
  try {
    key = decodeKey(text);
  } catch (error) {
    throw usage(`invalid key file "${path}": ${(error as Error).message}`, command);
  }
  if (Deno.build.os !== "windows") {
    const mode = (await Deno.stat(path)).mode ?? 0;
    if ((mode & 0o077) !== 0) {
      warn(`key file "${path}" is readable by others (mode ${(mode & 0o777).toString(8)})`);
    }
  }
  return key;
}

/** Public keys from hex, or from a file holding one key per line (# comments allowed). */
async function readPublicKeys(arg: string, flag: string, command: string): Promise<string[]> {
  if (HEX_KEY.test(arg)) return [arg.toLowerCase()];
  const text = await readFile(arg, `--${flag} file`, command);
  const keys = text.split("\n").map((line) => line.replace(/#.*/, "").trim()).filter(Boolean);
  for (const key of keys) {
    if (!HEX_KEY.test(key)) {
      throw usage(
        `invalid --${flag} file "${arg}": ${
          JSON.stringify(key.slice(0, 80))
        } is not a 64-digit hex key`,
        command,
      );
    }
  }
  if (keys.length === 0) throw usage(`invalid --${flag} file "${arg}": no key in it`, command);
  return keys.map((k) => k.toLowerCase());
}

// Output.

const encoder = new TextEncoder();

// Server-supplied text (responses, pushes, error messages, close reasons,
// frames) reaches these two sinks only, and both make every line safe: no
// terminal escape or bidi control gets through (see `_safe_text.ts`). Where
// such text is embedded in a message, `safeText` also keeps it on one line.

/** Writes one line to stdout; throws `BrokenPipe` once the reader is gone. */
function print(text: string): void {
  const bytes = encoder.encode(`${safeLines(text)}\n`);
  for (let offset = 0; offset < bytes.length;) {
    offset += Deno.stdout.writeSync(bytes.subarray(offset));
  }
}

/** Writes one line to stderr. */
function printError(text: string): void {
  console.error(safeLines(text));
}

function warn(message: string): void {
  printError(`wsrpc: ${message}`);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

// Connecting.

interface Connected {
  conn: Conn;
  /** The server's first message (its ping, id "0"). */
  first: unknown;
  url: string;
}

async function connect(command: string, url: string, flags: FlagValues): Promise<Connected> {
  const verbose = flags.verbose === true;
  const headers = parseHeaders(flags.header as string[] | undefined, command);
  const timeoutMs = flags.timeout === undefined
    ? undefined
    : parseDuration(flags.timeout as string, "timeout", command);
  const readLimit = flags["read-limit"] === undefined
    ? undefined
    : parseSize(flags["read-limit"] as string, "read-limit", command);
  let authenticator: Authenticator | undefined;
  if (flags.key !== undefined || flags["server-key"] !== undefined) {
    const secretKey = flags.key === undefined
      ? (await generateKeyPair()).secretKey
      : await readSecretKey(flags.key as string, command);
    let serverPublicKey: string | undefined;
    if (flags["server-key"] !== undefined) {
      const keys = await readPublicKeys(flags["server-key"] as string, "server-key", command);
      if (keys.length !== 1) {
        throw usage(`invalid --server-key: expected one key, got ${keys.length}`, command);
      }
      serverPublicKey = keys[0]!;
    }
    authenticator = ed25519Client({
      secretKey,
      userAgent: `wsrpc-cli/${denoConfig.version}`,
      ...(serverPublicKey === undefined ? {} : { serverPublicKey }),
    });
  }

  let first: unknown;
  let sawFirst = false;
  const options: ConnOptions<typeof schemalessAPI> = {
    api: schemalessAPI,
    rejectErrors: false,
    onMessage: (direction, message) => {
      if (direction === "receive" && !sawFirst) {
        sawFirst = true;
        first = message;
      }
    },
  };
  if (timeoutMs !== undefined) {
    options.connectTimeoutMs = timeoutMs;
    options.callTimeoutMs = timeoutMs;
  }
  if (readLimit !== undefined) options.readLimit = readLimit;
  if (Object.keys(headers).length > 0) options.headers = headers;
  if (authenticator !== undefined) options.authenticator = authenticator;
  if (verbose) options.webSocket = tappedWebSocket;

  let conn: Conn;
  try {
    conn = new Conn(url, options);
  } catch (error) {
    const hint = url.includes("://") ? "" : " (expected ws://HOST:PORT/PATH)";
    throw usage(`${(error as Error).message}${hint}`, command);
  }
  if (verbose) printError(`* connecting to ${conn.url}`);
  try {
    await conn.connect();
  } catch (error) {
    await conn.close();
    throw connectError(conn.url, error, await tcpDiagnosis(conn.url, error));
  }
  if (verbose) printError("* connected");
  return { conn, first, url: conn.url };
}

/** A WebSocket that prints every frame on stderr: `>` sent, `<` received. */
function tappedWebSocket(
  url: string,
  init: { headers?: Record<string, string>; protocols?: string | string[] },
): WebSocketLike {
  const ws = init.headers === undefined
    ? new WebSocket(url, init.protocols)
    : new (WebSocket as unknown as new (url: string, init: unknown) => WebSocket)(url, init);
  ws.addEventListener("open", () => printError(`* open ${url}`));
  ws.addEventListener("message", (e) => {
    const data = (e as MessageEvent).data;
    printError(typeof data === "string" ? `< ${safeText(data)}` : "< (binary frame)");
  });
  ws.addEventListener("close", (e) => {
    const { code, reason } = e as CloseEvent;
    printError(`* closed ${code}${reason ? ` ${safeText(JSON.stringify(reason))}` : ""}`);
  });
  const send = ws.send.bind(ws);
  ws.send = (data: string | ArrayBufferLike | Blob | ArrayBufferView) => {
    printError(typeof data === "string" ? `> ${safeText(data)}` : "> (binary frame)");
    send(data);
  };
  return ws;
}

/**
 * Deno reports a failed TCP connect as "tcp connect error" only; dial once
 * more to learn why (e.g. "Connection refused (os error 111)").
 */
async function tcpDiagnosis(url: string, error: unknown): Promise<string> {
  if (!(error instanceof Error) || !error.message.endsWith("tcp connect error")) return "";
  const { hostname, port, protocol } = new URL(url);
  try {
    const socket = await Deno.connect({
      hostname: hostname.replace(/^\[|\]$/g, ""),
      port: Number(port || (protocol === "wss:" ? 443 : 80)),
    });
    socket.close();
    return "";
  } catch (e) {
    return `: ${(e as Error).message}`;
  }
}

function connectError(url: string, error: unknown, detail = ""): CliError {
  if (error instanceof HandshakeError) {
    // The server's first message came where the challenge should have been.
    const hint = /unexpected message "[^"]*-ping-request"/.test(error.message)
      ? " (the server does not authenticate clients: drop --key and --server-key)"
      : "";
    return new CliError(`${safeText(error.message)}${hint}`, HANDSHAKE);
  }
  if (error instanceof ConnectionClosedError) {
    if (error.code === STATUS_HANDSHAKE_ERR) {
      return new CliError(
        `failed to handshake with server: closed ${error.code} ${
          safeText(JSON.stringify(error.reason))
        }`,
        HANDSHAKE,
      );
    }
    if (error.message.startsWith("Cannot connect")) {
      return new CliError(`${safeText(error.message)}${detail}`, CONNECT);
    }
    return new CliError(`Cannot connect to ${url}: ${safeText(error.message)}`, CONNECT);
  }
  if (error instanceof DOMException && error.name === "TimeoutError") {
    return new CliError(`Cannot connect to ${url}: ${error.message}`, CONNECT);
  }
  return new CliError(
    `Cannot connect to ${url}: ${safeText(String((error as Error)?.message ?? error))}`,
    CONNECT,
  );
}

/** Why a call failed, as a one-line error with exit code 1. */
function callError(command: string, error: unknown): CliError {
  if (error instanceof ConnectionClosedError) {
    return new CliError(
      `${command} failed: connection closed: ${error.code}${
        error.reason ? ` ${safeText(JSON.stringify(error.reason))}` : ""
      }`,
      FAILED,
    );
  }
  return new CliError(
    `${command} failed: ${safeText(String((error as Error)?.message ?? error))}`,
    FAILED,
  );
}

/** The error a response payload carries, as text, or undefined. */
function errorText(payload: unknown): string | undefined {
  if (payload === null || typeof payload !== "object") return undefined;
  const error = (payload as { error?: unknown }).error;
  if (error === undefined || error === null) return undefined;
  return safeText(ProtocolError.fromJSON(error)?.toString() ?? formatJSON(error, false));
}

// Commands.

async function call(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("call", args);
  if (flags.help) return help("call");
  positionalCount("call", positionals, 2, 3, "URL COMMAND [PAYLOAD]");
  const [url, command, payloadArg] = positionals as [string, string, string | undefined];
  if (command === "") throw usage("COMMAND is empty", "call");
  const payload = await readPayload(payloadArg, "call");
  const pretty = flags.pretty === true ||
    (flags.compact !== true && Deno.stdout.isTerminal());
  const { conn } = await connect("call", url, flags);
  try {
    let response: unknown;
    try {
      response = await conn.call(command, payload);
    } catch (error) {
      throw callError(command, error);
    }
    print(formatJSON(response, pretty));
    const text = errorText(response);
    if (text !== undefined) throw new CliError(text, FAILED);
    return OK;
  } finally {
    await conn.close();
  }
}

async function listen(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("listen", args);
  if (flags.help) return help("listen");
  positionalCount("listen", positionals, 1, 3, "URL [COMMAND [PAYLOAD]]");
  const [url, command, payloadArg] = positionals as [string, string?, string?];
  const count = parseCount(flags.count as string | undefined, "count", "listen");
  const payload = command === undefined ? undefined : await readPayload(payloadArg, "listen");
  const { conn } = await connect("listen", url, flags);
  try {
    if (command !== undefined) {
      let response: unknown;
      try {
        response = await conn.call(command, payload);
      } catch (error) {
        throw callError(command, error);
      }
      const text = errorText(response);
      if (text !== undefined) throw new CliError(text, FAILED);
    }
    let received = 0;
    while (count === undefined || received < count) {
      let message: unknown;
      try {
        message = await conn.readJSON();
      } catch (error) {
        if (!(error instanceof ConnectionClosedError)) throw error;
        const normal = error.code === 1000 || error.code === 1001;
        if (count === undefined && normal) return OK;
        throw new CliError(
          `connection closed after ${received} message${received === 1 ? "" : "s"}: ${error.code}${
            error.reason ? ` ${safeText(JSON.stringify(error.reason))}` : ""
          }`,
          FAILED,
        );
      }
      print(formatJSON(message, false));
      received++;
    }
    return OK;
  } finally {
    await conn.close();
  }
}

async function ping(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("ping", args);
  if (flags.help) return help("ping");
  positionalCount("ping", positionals, 1, 1, "URL");
  const count = parseCount(flags.count as string | undefined, "count", "ping");
  const intervalMs = flags.interval === undefined
    ? 1_000
    : parseDuration(flags.interval as string, "interval", "ping");
  const { conn, first, url } = await connect("ping", positionals[0]!, flags);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    const firstCommand = (first as { header?: { command?: unknown } })?.header?.command;
    const command = (flags.command as string | undefined) ??
      (typeof firstCommand === "string" ? firstCommand : undefined);
    if (command === undefined) {
      throw usage(
        "cannot tell the ping command from the server's first message: use --command",
        "ping",
      );
    }
    const host = new URL(url).host;
    print(`PING ${url} (${safeText(command)})`);
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
          print(`reply from ${host}: seq=${seq} time=${ms.toFixed(3)} ms`);
        } else {
          print(`error from ${host}: seq=${seq} ${text}`);
        }
      } catch (error) {
        if (stop.signal.aborted) {
          sent--; // interrupted while waiting: not counted
          break;
        }
        if (error instanceof DOMException && error.name === "TimeoutError") {
          print(`timeout: seq=${seq}`);
        } else {
          failure = callError(command, error);
          break;
        }
      }
      if (count === undefined || seq < count) await sleep(intervalMs, stop.signal);
    }
    const elapsed = performance.now() - started;
    const lost = sent - times.length;
    print(`--- ${url} ping statistics ---`);
    print(
      `${sent} sent, ${times.length} received, ${
        sent === 0 ? 0 : Math.round(lost / sent * 100)
      }% loss, time ${Math.round(elapsed)} ms`,
    );
    if (times.length > 0) {
      const min = Math.min(...times);
      const max = Math.max(...times);
      const avg = times.reduce((a, b) => a + b, 0) / times.length;
      const mdev = Math.sqrt(times.reduce((a, t) => a + (t - avg) ** 2, 0) / times.length);
      print(
        `rtt min/avg/max/mdev = ${[min, avg, max, mdev].map((t) => t.toFixed(3)).join("/")} ms`,
      );
    }
    if (failure !== undefined) throw failure;
    return lost === 0 && sent > 0 ? OK : FAILED;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    await conn.close();
  }
}

async function serve(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("serve", args);
  if (flags.help) return help("serve");
  positionalCount("serve", positionals, 0, 0, "no arguments");
  const portText = (flags.port as string | undefined) ?? "8080";
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    throw usage(`invalid --port ${JSON.stringify(portText)}: expected 0 to 65535`, "serve");
  }
  const hostname = (flags.host as string | undefined) ?? "127.0.0.1";
  const verbose = flags.verbose === true;
  const allowedHosts = serveAllowedHosts(
    hostname,
    ((flags["allow-host"] as string[] | undefined) ?? []).flatMap((h) => h.split(",")),
  );

  let authenticator: Authenticator | undefined;
  let serverKey: string | undefined;
  const allow: string[] = [];
  for (const arg of (flags.allow as string[] | undefined) ?? []) {
    for (const part of arg.split(",")) allow.push(...await readPublicKeys(part, "allow", "serve"));
  }
  if (flags.key !== undefined || allow.length > 0) {
    const secretKey = flags.key === undefined
      ? undefined
      : await readSecretKey(flags.key as string, "serve");
    if (secretKey !== undefined) serverKey = (await publicKeyFromSecret(secretKey)).toHex();
    authenticator = ed25519Server({
      message: "wsrpc demo",
      ...(secretKey === undefined ? {} : { secretKey }),
      ...(allow.length === 0 ? {} : { allow }),
    });
  }

  const handlers = verbose ? logged(demoHandlers) : demoHandlers;
  const server = new Server(demoAPI, {
    handlers,
    ...(authenticator === undefined ? {} : { authenticator }),
    ...(allowedHosts === undefined ? {} : { allowedHosts }),
    onSessionOpen: (s) =>
      printError(
        `session ${s.id} open from ${s.remoteAddr ?? "?"}${
          s.peer ? ` key ${s.peer.publicKey} (${safeText(s.peer.userAgent)})` : ""
        }`,
      ),
    onSessionClose: (s, { code, reason }) =>
      printError(
        `session ${s.id} closed ${code}${reason ? ` ${safeText(JSON.stringify(reason))}` : ""}`,
      ),
  });
  const path = "/v1/ws";
  let http: WsrpcHttpServer;
  try {
    // The adapter's serve() keeps listening through descriptor exhaustion.
    http = serveDeno(server, {
      hostname,
      port,
      path,
      fallback: () =>
        new Response(`wsrpc demo server: connect a WebSocket to ${path}\n`, {
          headers: { "content-type": "text/plain; charset=utf-8" },
        }),
    });
  } catch (error) {
    throw new CliError(
      `Cannot listen on ${hostname}:${port}: ${(error as Error).message}`,
      FAILED,
    );
  }
  const host = http.addr.hostname.includes(":") ? `[${http.addr.hostname}]` : http.addr.hostname;
  print(`ws://${host}:${http.addr.port}${path}`);
  if (serverKey !== undefined) printError(`server public key ${serverKey}`);
  if (authenticator !== undefined) {
    printError(
      `clients must authenticate with ed25519${
        allow.length > 0 ? ` (${allow.length} allowed key${allow.length === 1 ? "" : "s"})` : ""
      }`,
    );
  }

  const stopped = Promise.withResolvers<string>();
  let stopping = false;
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const onSignal = (signal: Deno.Signal) => () => {
    if (stopping) Deno.exit(130); // a second signal: stop now
    stopping = true;
    stopped.resolve(signal);
  };
  const listeners = signals.map((s) => [s, onSignal(s)] as const);
  for (const [s, listener] of listeners) Deno.addSignalListener(s, listener);
  const signal = await stopped.promise;
  printError(`${signal}: shutting down`);
  await server.shutdown({ graceMs: 5_000 });
  await http.shutdown();
  for (const [s, listener] of listeners) Deno.removeSignalListener(s, listener);
  return OK;
}

/**
 * The `Host` names `wsrpc serve` accepts: bound to a loopback address, the
 * loopback names, the bound name and `extra`; elsewhere `extra`, or any host
 * when there is none.
 */
function serveAllowedHosts(hostname: string, extra: string[]): string[] | undefined {
  const loopback = hostname === "localhost" || /^127\./.test(hostname) ||
    /^\[?(::1|0:0:0:0:0:0:0:1)\]?$/.test(hostname);
  if (!loopback) return extra.length === 0 ? undefined : extra;
  return ["localhost", "127.0.0.1", "[::1]", hostname, ...extra];
}

function logged(handlers: typeof demoHandlers): typeof demoHandlers {
  const wrapped: Record<string, unknown> = {};
  for (const [command, handle] of Object.entries(handlers)) {
    const h = handle as (payload: unknown, ctx: { id: string; session: { id: string } }) => unknown;
    wrapped[command] = (payload: unknown, ctx: { id: string; session: { id: string } }) => {
      printError(`session ${ctx.session.id} request ${safeText(ctx.id)} ${command}`);
      return h(payload, ctx);
    };
  }
  return wrapped as typeof demoHandlers;
}

async function keygen(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("keygen", args);
  if (flags.help) return help("keygen");
  positionalCount("keygen", positionals, 0, 0, "no arguments");
  const out = (flags.out as string | undefined) ?? "wsrpc.key";
  const force = flags.force === true;
  const { secretKey, publicKey } = await generateKeyPair();
  const publicHex = publicKey.toHex();
  try {
    await Deno.writeTextFile(out, `${secretKey.toHex()}\n`, { mode: 0o600, createNew: !force });
    if (Deno.build.os !== "windows") await Deno.chmod(out, 0o600);
    await Deno.writeTextFile(`${out}.pub`, `${publicHex}\n`, { mode: 0o644, createNew: !force });
  } catch (error) {
    const exists = error instanceof Deno.errors.AlreadyExists;
    throw new CliError(
      `Cannot write the key: ${(error as Error).message}${
        exists ? " (use --force to overwrite)" : ""
      }`,
      FAILED,
    );
  } finally {
    secretKey.fill(0);
  }
  print(publicHex);
  printError(`wrote the secret key to ${out} (mode 0600) and the public key to ${out}.pub`);
  return OK;
}

function help(command: string): number {
  print(HELP[command]!);
  return OK;
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  call,
  listen,
  ping,
  serve,
  keygen,
};

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === undefined) {
      printError(HELP.main!);
      return USAGE;
    }
    if (command === "--help" || command === "-h") return help("main");
    if (command === "--version" || command === "-V") {
      print(`wsrpc ${denoConfig.version}`);
      return OK;
    }
    if (command === "help") {
      const topic = rest[0] ?? "main";
      if (!(topic in HELP)) throw usage(`unknown command ${JSON.stringify(topic)}`);
      return help(topic);
    }
    const run = COMMANDS[command];
    if (run === undefined) throw usage(`unknown command ${JSON.stringify(command)}`);
    return await run(rest);
  } catch (error) {
    // The reader of our output went away (`wsrpc listen ... | head -1`): done.
    if (error instanceof Deno.errors.BrokenPipe) return OK;
    if (error instanceof CliError) {
      const hint = error.exitCode === USAGE
        ? ` (see "wsrpc ${error.command ?? ""}${error.command ? " " : ""}--help")`
        : "";
      printError(`wsrpc: ${error.message}${hint}`);
      return error.exitCode;
    }
    printError(`wsrpc: ${safeText(String((error as Error)?.message ?? error))}`);
    return FAILED;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
