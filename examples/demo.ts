/**
 * `deno task demo`: the `wsrpc` command line in action, against the demo
 * server with mutual ed25519 authentication. In a temporary directory it makes
 * a key pair for a server and one for a client, starts `wsrpc serve` on a
 * free port of 127.0.0.1 (reading the URL from its first line), runs a few
 * `wsrpc` commands, printing each with its output and exit code, then stops
 * the server with SIGINT and exits 0. Any unexpected exit code fails the demo.
 */
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../lib/cli/main.ts", import.meta.url));
const dir = await Deno.makeTempDir({ prefix: "wsrpc_demo_" });
const decoder = new TextDecoder();

/** Shell-quotes one argument for display. */
function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

function command(args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs `wsrpc ARGS...`, prints it as a shell transcript, checks the exit code. */
async function wsrpc(args: string[], expectedCode = 0): Promise<string> {
  console.log(`$ wsrpc ${args.map(quote).join(" ")}`);
  const { code, stdout, stderr } = await command(args).output();
  const out = decoder.decode(stdout);
  const err = decoder.decode(stderr);
  if (out) console.log(out.trimEnd());
  if (err) console.log(err.trimEnd());
  if (code !== 0) console.log(`(exit ${code})`);
  console.log();
  if (code !== expectedCode) {
    throw new Error(`wsrpc ${args[0]} exited ${code}, not ${expectedCode}`);
  }
  return out.trim();
}

let server: Deno.ChildProcess | undefined;
try {
  await wsrpc(["keygen", "--out", "server.key"]);
  await wsrpc(["keygen", "--out", "client.key"]);

  const serveArgs = ["serve", "--port", "0", "--key", "server.key", "--allow", "client.key.pub"];
  console.log(`$ wsrpc ${serveArgs.join(" ")} &`);
  server = command(serveArgs).spawn();
  const serverLog = new Response(server.stderr).text();
  const lines = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let first = "";
  while (!first.includes("\n")) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`wsrpc serve exited early: ${await serverLog}`);
    first += value;
  }
  void (async () => {
    while (!(await lines.read()).done);
  })();
  const url = first.split("\n")[0]!;
  console.log(`${url}\n`);

  const auth = ["--key", "client.key", "--server-key", "server.key.pub"];
  await wsrpc(["ping", url, "--count", "3", "--interval", "100ms", ...auth]);
  await wsrpc([
    "call",
    url,
    "demo-echo-request",
    '{"hello":"world","height":18446744073709551615}',
    ...auth,
  ]);
  await wsrpc(["call", url, "demo-ping-request", '{"timestamp":1732453000}', ...auth, "-v"]);
  await wsrpc(["listen", url, "demo-notify-request", '{"count":3}', "--count", "3", ...auth]);
  await wsrpc(["call", url, "demo-fail-request", ...auth], 1);
  // Pinning the wrong key: the server cannot prove it, the handshake fails.
  await wsrpc([
    "call",
    url,
    "demo-ping-request",
    "--key",
    "client.key",
    "--server-key",
    "client.key.pub",
  ], 4);

  console.log("$ kill -INT %1");
  server.kill("SIGINT");
  const { code } = await server.status;
  server = undefined;
  console.log((await serverLog).trimEnd());
  if (code !== 0) throw new Error(`wsrpc serve exited ${code}`);
  console.log("\ndone");
} finally {
  if (server !== undefined) {
    server.kill("SIGKILL");
    await server.status;
  }
  await Deno.remove(dir, { recursive: true });
}
