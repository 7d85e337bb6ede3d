/**
 * Runs both Cloudflare examples in workerd on one loopback port: bundles
 * worker/worker.ts and durable_object/room.ts with `deno bundle`, writes a
 * workerd config next to them and starts workerd (the pinned npm package,
 * tools/node_modules/.bin/workerd). `deno task cloudflare [port]` prints the
 * URLs and runs until Ctrl-C; tests import {@linkcode startWorkerd}.
 *
 * @module
 */

const here = new URL(".", import.meta.url).pathname;
const root = new URL("../../", import.meta.url).pathname;

/** A running workerd. */
export interface Workerd {
  /** The port it listens on (127.0.0.1). */
  port: number;
  /** Stops workerd and removes its files. */
  stop(): Promise<void>;
}

/** The workerd config: the Worker, the rooms Worker and its two Durable Object classes. */
function config(address: string): string {
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .router),
    (name = "worker", worker = .worker),
    (name = "rooms", worker = .rooms),
  ],
  sockets = [(name = "http", address = "${address}", http = (), service = "main")],
);
# /v1/ws: the plain Worker; /room/* and /secure/*: the Durable Objects.
const router :Workerd.Worker = (
  modules = [(name = "router.js", esModule = "export default { fetch(r, env) { return new URL(r.url).pathname === '/v1/ws' ? env.WORKER.fetch(r) : env.ROOMS.fetch(r); } };")],
  bindings = [(name = "WORKER", service = "worker"), (name = "ROOMS", service = "rooms")],
  compatibilityDate = "2026-11-01",
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2026-11-01",
);
const rooms :Workerd.Worker = (
  modules = [(name = "room.js", esModule = embed "room.js")],
  compatibilityDate = "2026-11-01",
  durableObjectNamespaces = [
    (className = "Room", uniqueKey = "wsrpc-room"),
    (className = "SecureRoom", uniqueKey = "wsrpc-secure-room"),
  ],
  durableObjectStorage = (inMemory = void),
  bindings = [
    (name = "ROOM", durableObjectNamespace = "Room"),
    (name = "SECURE_ROOM", durableObjectNamespace = "SecureRoom"),
  ],
);
`;
}

async function bundle(entry: string, out: string): Promise<void> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "browser", "-o", out, entry],
    cwd: root,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`deno bundle ${entry}: ${new TextDecoder().decode(stderr)}`);
}

/**
 * Bundles the examples and starts workerd on 127.0.0.1:`port` (0: a free
 * one); resolves once it listens.
 */
export async function startWorkerd(port = 0): Promise<Workerd> {
  const dir = await Deno.makeTempDir({ prefix: "wsrpc-workerd-" });
  await Promise.all([
    bundle(`${here}worker/worker.ts`, `${dir}/worker.js`),
    bundle(`${here}durable_object/room.ts`, `${dir}/room.js`),
  ]);
  await Deno.writeTextFile(`${dir}/config.capnp`, config(`127.0.0.1:${port}`));
  const workerd = `${root}tools/node_modules/.bin/workerd`;
  // --control-fd=1: workerd reports `{"event":"listen","socket":"http","port":N}` on stdout.
  const child = new Deno.Command(workerd, {
    args: ["serve", "--experimental", "--control-fd=1", `${dir}/config.capnp`],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  let listening: number | undefined;
  while (listening === undefined) {
    const { value, done } = await lines.read();
    if (done) throw new Error("workerd exited before it listened");
    buffered += value;
    const match = buffered.match(/"event":"listen","socket":"http","port":(\d+)/);
    if (match) listening = Number(match[1]);
  }
  // Keep draining stdout so workerd never blocks on it.
  const drained = (async () => {
    while (!(await lines.read()).done) { /* discard */ }
  })().catch(() => {});
  return {
    port: listening,
    async stop() {
      // workerd drains open sockets on SIGTERM; past a second, SIGKILL.
      const kill = (signal: Deno.Signal) => {
        try {
          child.kill(signal);
        } catch { /* already gone */ }
      };
      kill("SIGTERM");
      const timer = setTimeout(() => kill("SIGKILL"), 1_000);
      await child.status;
      clearTimeout(timer);
      await drained;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

if (import.meta.main) {
  const workerd = await startWorkerd(Number(Deno.args[0] ?? 8787));
  const base = `ws://127.0.0.1:${workerd.port}`;
  console.log(`workerd listening:
  ${base}/v1/ws          plain Worker (demo API)
  ${base}/room/lobby     Durable Object "Room" (demo API, hibernates after 10 s idle)
  ${base}/secure/lobby   Durable Object "SecureRoom" (ed25519 handshake first)
try: deno task wsrpc call ${base}/room/lobby demo-echo-request '"hi"'`);
  Deno.addSignalListener("SIGINT", () => void workerd.stop().then(() => Deno.exit(0)));
}
