/** `wsrpc serve`: run the demo server until SIGINT or SIGTERM. */

import { ed25519Server } from "../ed25519_authenticator.ts";
import { publicKeyFromSecret } from "../ed25519_keys.ts";
import type { Authenticator } from "../message.ts";
import { Server } from "../server.ts";
import { serve as serveDeno, type WsrpcHttpServer } from "../deno.ts";
import { demoAPI, demoHandlers } from "../demo.ts";
import { safeText } from "../_safe_text.ts";
import { CliError, ExitCode, usage } from "./_errors.ts";
import { flagHelp, type FlagValues, HELP_FLAG, positionalCount } from "./_flags.ts";
import type { CliIO } from "./_io.ts";
import { command, type Run } from "./_command.ts";
import { readPublicKeys, readSecretKey } from "./_keys.ts";
import { closeStatus } from "./_output.ts";

const FLAGS = {
  port: {
    type: "string",
    short: "p",
    value: "PORT",
    help: "port to listen on; 0 picks a free one (default 8080)",
  },
  host: { type: "string", value: "HOST", help: "address to listen on (default 127.0.0.1)" },
  "allow-host": {
    type: "string",
    multiple: true,
    value: "NAME",
    help: "a host name clients may use in Host (any port); repeatable.\n" +
      "Bound to loopback, only localhost, 127.0.0.1, [::1] and the\n" +
      "--host name are accepted by default (DNS rebinding): others get 421",
  },
  key: {
    type: "string",
    value: "FILE",
    help: "the server's ed25519 secret key: clients can pin its public key",
  },
  allow: {
    type: "string",
    multiple: true,
    value: "KEY",
    help: "a client public key that may connect (hex, or a file with one\n" +
      "key per line); repeatable. Without it, any client with a key may",
  },
  verbose: { type: "boolean", short: "v", help: "log every request on stderr" },
  help: HELP_FLAG,
} as const;

/** `wsrpc serve --help`. */
export const HELP = `wsrpc serve: run the demo server

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
${flagHelp(FLAGS)}

Exit codes: 0 after a graceful shutdown, 1 when it cannot listen, 2 usage error.`;

const PATH = "/v1/ws";

/**
 * Runs `wsrpc serve ARGS...` until SIGINT or SIGTERM (SIGINT only on Windows),
 * then shuts down gracefully; a second signal exits 130 at once. Returns the exit code.
 */
export const run: Run = command("serve", FLAGS, HELP, serve);

async function serve(
  flags: FlagValues<typeof FLAGS>,
  positionals: string[],
  io: CliIO,
): Promise<number> {
  positionalCount("serve", positionals, 0, 0, "no arguments");
  const portText = flags.port ?? "8080";
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    throw usage(`invalid --port ${JSON.stringify(portText)}: expected 0 to 65535`, "serve");
  }
  const hostname = flags.host ?? "127.0.0.1";
  const allowedHosts = serveAllowedHosts(
    hostname,
    (flags["allow-host"] ?? []).flatMap((h) => h.split(",")),
  );

  let authenticator: Authenticator | undefined;
  let serverKey: string | undefined;
  const allow: string[] = [];
  for (const arg of flags.allow ?? []) {
    for (const part of arg.split(",")) allow.push(...await readPublicKeys(part, "allow", "serve"));
  }
  if (flags.key !== undefined || allow.length > 0) {
    const secretKey = flags.key === undefined
      ? undefined
      : await readSecretKey(flags.key, "serve", io);
    if (secretKey !== undefined) serverKey = (await publicKeyFromSecret(secretKey)).toHex();
    authenticator = ed25519Server({
      message: "wsrpc demo",
      ...(secretKey === undefined ? {} : { secretKey }),
      ...(allow.length === 0 ? {} : { allow }),
    });
  }

  const server = new Server(demoAPI, {
    handlers: flags.verbose ? logged(demoHandlers, io) : demoHandlers,
    // A development server: every extension, describe included (Go clients ignore the offer).
    extensions: ["cancel", "describe", "trace"],
    ...(authenticator === undefined ? {} : { authenticator }),
    ...(allowedHosts === undefined ? {} : { allowedHosts }),
    onSessionOpen: (s) =>
      io.printError(
        `session ${s.id} open from ${s.remoteAddr ?? "?"}${
          s.peer ? ` key ${s.peer.publicKey} (${safeText(s.peer.userAgent)})` : ""
        }`,
      ),
    onSessionClose: (s, { code, reason }) =>
      io.printError(`session ${s.id} closed ${closeStatus(code, reason)}`),
  });
  let http: WsrpcHttpServer;
  try {
    // The adapter's serve() keeps listening through descriptor exhaustion.
    http = serveDeno(server, {
      hostname,
      port,
      path: PATH,
      fallback: () =>
        new Response(`wsrpc demo server: connect a WebSocket to ${PATH}\n`, {
          headers: { "content-type": "text/plain; charset=utf-8" },
        }),
    });
  } catch (error) {
    throw new CliError(
      `Cannot listen on ${hostname}:${port}: ${(error as Error).message}`,
      ExitCode.Failed,
    );
  }
  const host = http.addr.hostname.includes(":") ? `[${http.addr.hostname}]` : http.addr.hostname;
  io.print(`ws://${host}:${http.addr.port}${PATH}`);
  if (serverKey !== undefined) io.printError(`server public key ${serverKey}`);
  if (authenticator !== undefined) {
    io.printError(
      `clients must authenticate with ed25519${
        allow.length > 0 ? ` (${allow.length} allowed key${allow.length === 1 ? "" : "s"})` : ""
      }`,
    );
  }

  const stopped = Promise.withResolvers<string>();
  let stopping = false;
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const removeListeners = signals.map((signal) =>
    io.onSignal(signal, () => {
      if (stopping) return io.exit(130); // a second signal: stop now
      stopping = true;
      stopped.resolve(signal);
    })
  );
  const signal = await stopped.promise;
  io.printError(`${signal}: shutting down`);
  await server.shutdown({ graceMs: 5_000 });
  await http.shutdown();
  for (const remove of removeListeners) remove();
  return ExitCode.OK;
}

/**
 * The `Host` names `wsrpc serve` accepts: bound to a loopback address, the
 * loopback names, the bound name and `extra`; elsewhere `extra`, or any host
 * when there is none.
 */
export function serveAllowedHosts(hostname: string, extra: string[]): string[] | undefined {
  const loopback = hostname === "localhost" || /^127\./.test(hostname) ||
    /^\[?(::1|0:0:0:0:0:0:0:1)\]?$/.test(hostname);
  if (!loopback) return extra.length === 0 ? undefined : extra;
  return ["localhost", "127.0.0.1", "[::1]", hostname, ...extra];
}

/** The demo handlers, each logging its request on stderr first (`--verbose`). */
function logged(handlers: typeof demoHandlers, io: CliIO): typeof demoHandlers {
  const wrapped: Record<string, unknown> = {};
  for (const [command, handle] of Object.entries(handlers)) {
    const h = handle as (payload: unknown, ctx: { id: string; session: { id: string } }) => unknown;
    wrapped[command] = (payload: unknown, ctx: { id: string; session: { id: string } }) => {
      io.printError(`session ${ctx.session.id} request ${safeText(ctx.id)} ${command}`);
      return h(payload, ctx);
    };
  }
  return wrapped as typeof demoHandlers;
}
