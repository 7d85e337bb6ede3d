/**
 * Connecting for `call`, `listen` and `ping`: the connection flags, the
 * `Conn` they configure, `--verbose` frame tracing, and the one-line errors
 * (with exit codes 3 and 4) for a failed connect or call.
 */

import { schemalessAPI } from "../api.ts";
import { Conn, type ConnOptions } from "../conn.ts";
import { ed25519Client } from "../ed25519_authenticator.ts";
import { generateKeyPair } from "../ed25519_keys.ts";
import { CloseCode, ConnectionClosedError, HandshakeError } from "../errors.ts";
import type { Authenticator } from "../message.ts";
import type { WebSocketLike } from "../ws_conn.ts";
import { safeText } from "../_safe_text.ts";
import denoConfig from "../../deno.json" with { type: "json" };
import { CliError, ExitCode, usage } from "./_errors.ts";
import { type FlagValues, HELP_FLAG, parseDuration, parseHeaders, parseSize } from "./_flags.ts";
import type { CliIO } from "./_io.ts";
import { readPublicKeys, readSecretKey } from "./_keys.ts";
import { closeStatus } from "./_output.ts";

/** The flags of every command that connects. */
export const CONNECTION_FLAGS = {
  key: {
    type: "string",
    value: "FILE",
    help: `ed25519 secret key file (see "wsrpc keygen"): authenticate with it`,
  },
  "server-key": {
    type: "string",
    value: "KEY",
    help: "the server public key to expect (hex, or a file holding it);\n" +
      "without --key, an ephemeral client key is made",
  },
  header: {
    type: "string",
    short: "H",
    multiple: true,
    value: "K:V",
    help: "add a header to the upgrade request (repeatable)",
  },
  timeout: {
    type: "string",
    value: "TIME",
    help: "time allowed to connect and for each call: 500ms, 10s, 2m\n" +
      "(default: 20s to connect, 60s per call)",
  },
  "read-limit": {
    type: "string",
    value: "SIZE",
    help: "largest incoming message: 16MiB, 512KiB, 1000000 (default 512KiB)",
  },
  verbose: {
    type: "boolean",
    short: "v",
    help: "print every frame sent (>) and received (<) on stderr",
  },
  help: HELP_FLAG,
} as const;

/** An open connection and what the server said first. */
export interface Connected {
  conn: Conn;
  /** The server's first message (its ping, id "0"). */
  first: unknown;
  url: string;
}

/** Connects to `url` as the connection flags say; fails with exit 2, 3 or 4. */
export async function connect(
  command: string,
  url: string,
  flags: FlagValues<typeof CONNECTION_FLAGS>,
  io: CliIO,
): Promise<Connected> {
  const headers = parseHeaders(flags.header, command);
  const timeoutMs = flags.timeout === undefined
    ? undefined
    : parseDuration(flags.timeout, "timeout", command);
  const readLimit = flags["read-limit"] === undefined
    ? undefined
    : parseSize(flags["read-limit"], "read-limit", command);
  let authenticator: Authenticator | undefined;
  if (flags.key !== undefined || flags["server-key"] !== undefined) {
    const secretKey = flags.key === undefined
      ? (await generateKeyPair()).secretKey
      : await readSecretKey(flags.key, command, io);
    let serverPublicKey: string | undefined;
    if (flags["server-key"] !== undefined) {
      const keys = await readPublicKeys(flags["server-key"], "server-key", command);
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
  if (flags.verbose) options.webSocket = (url, init) => tappedWebSocket(url, init, io);

  let conn: Conn;
  try {
    conn = new Conn(url, options);
  } catch (error) {
    const hint = url.includes("://") ? "" : " (expected ws://HOST:PORT/PATH)";
    throw usage(`${(error as Error).message}${hint}`, command);
  }
  if (flags.verbose) io.printError(`* connecting to ${conn.url}`);
  try {
    await conn.connect();
  } catch (error) {
    await conn.close();
    throw connectError(conn.url, error, await tcpDiagnosis(conn.url, error));
  }
  if (flags.verbose) io.printError("* connected");
  return { conn, first, url: conn.url };
}

/** A WebSocket that prints every frame on stderr: `>` sent, `<` received. */
function tappedWebSocket(
  url: string,
  init: { headers?: Record<string, string>; protocols?: string | string[] },
  io: CliIO,
): WebSocketLike {
  const ws = init.headers === undefined
    ? new WebSocket(url, init.protocols)
    : new (WebSocket as unknown as new (url: string, init: unknown) => WebSocket)(url, init);
  ws.addEventListener("open", () => io.printError(`* open ${url}`));
  ws.addEventListener("message", (e) => {
    const data = (e as MessageEvent).data;
    io.printError(typeof data === "string" ? `< ${safeText(data)}` : "< (binary frame)");
  });
  ws.addEventListener("close", (e) => {
    const { code, reason } = e as CloseEvent;
    io.printError(`* closed ${closeStatus(code, reason)}`);
  });
  const send = ws.send.bind(ws);
  ws.send = (data: string | ArrayBufferLike | Blob | ArrayBufferView) => {
    io.printError(typeof data === "string" ? `> ${safeText(data)}` : "> (binary frame)");
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
    return new CliError(`${safeText(error.message)}${hint}`, ExitCode.Handshake);
  }
  if (error instanceof ConnectionClosedError) {
    if (error.code === CloseCode.HandshakeError) {
      return new CliError(
        `failed to handshake with server: closed ${error.code} ${
          safeText(JSON.stringify(error.reason))
        }`,
        ExitCode.Handshake,
      );
    }
    if (error.message.startsWith("Cannot connect")) {
      return new CliError(`${safeText(error.message)}${detail}`, ExitCode.Connect);
    }
    return new CliError(`Cannot connect to ${url}: ${safeText(error.message)}`, ExitCode.Connect);
  }
  if (error instanceof DOMException && error.name === "TimeoutError") {
    return new CliError(`Cannot connect to ${url}: ${error.message}`, ExitCode.Connect);
  }
  return new CliError(
    `Cannot connect to ${url}: ${safeText(String((error as Error)?.message ?? error))}`,
    ExitCode.Connect,
  );
}

/** Why a call failed, as a one-line error with exit code 1. */
export function callError(command: string, error: unknown): CliError {
  if (error instanceof ConnectionClosedError) {
    return new CliError(
      `${command} failed: connection closed: ${closeStatus(error.code, error.reason)}`,
      ExitCode.Failed,
    );
  }
  return new CliError(
    `${command} failed: ${safeText(String((error as Error)?.message ?? error))}`,
    ExitCode.Failed,
  );
}
