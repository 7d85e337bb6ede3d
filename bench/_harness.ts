/**
 * What the benchmark drivers (`run.ts`, `ab.ts`, `amplify.ts`, `layers.ts`,
 * `curves.ts`, `topics.ts`, `profile.ts`) share: their `--name=value` flags,
 * running again under a raised file-descriptor limit, a timestamped log
 * line, the environment their child processes get (the pinned Deno and Bun
 * first), a benchmark server started up to its `READY <port>` line, a
 * one-shot client's JSON result, one measurement against a fresh server,
 * and client processes driven by one JSON command and answer per line.
 */

/** The value of the script's `--name=value` argument, or undefined. */
export function flag(name: string): string | undefined {
  return Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/**
 * Runs the calling script again under `ulimit -n nofile` (or the hard limit)
 * when the current soft limit is lower, and exits with its status; returns
 * at once when the limit suffices or the script already is the re-run
 * (`--no-reexec`).
 */
export async function reexecUnderFdLimit(
  nofile: number,
  script: string,
): Promise<void> {
  if (Deno.args.includes("--no-reexec")) return;
  const probe = await new Deno.Command("bash", {
    args: ["-c", "ulimit -n"],
    stdout: "piped",
  })
    .output().catch(() => undefined);
  const current = probe ? Number(new TextDecoder().decode(probe.stdout).trim()) : NaN;
  if (!Number.isFinite(current) || current >= nofile) return;
  const status = await new Deno.Command("bash", {
    args: [
      "-c",
      `ulimit -n ${nofile} 2>/dev/null || ulimit -n $(ulimit -Hn); exec "$0" "$@"`,
      Deno.execPath(),
      "run",
      "-A",
      script,
      "--no-reexec",
      ...Deno.args,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  Deno.exit(status.code);
}

/** A logger that prefixes each line with the seconds since `started`, on stderr. */
export function stepLogger(started: number): (text: string) => void {
  return (text) => {
    const s = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
    Deno.stderr.writeSync(new TextEncoder().encode(`[${s}s] ${text}\n`));
  };
}

/** The environment of child processes: the project's pinned tools first on PATH, no colours. */
export function childEnv(root: string): Record<string, string> {
  return {
    PATH: `${root}tools/node_modules/.bin:${Deno.env.get("PATH") ?? ""}`,
    NO_COLOR: "1",
  };
}

/** A child process read line by line, with the last of its stderr kept for error messages. */
export interface LineProcess {
  child: Deno.ChildProcess;
  lines: AsyncIterator<string>;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  tail: string[];
}

/** Starts `cmd` with piped stdio; its stderr is drained (so it never blocks) into `tail`. */
export function spawnLines(
  cmd: string,
  args: string[],
  options: { env: Record<string, string>; cwd: string },
): LineProcess {
  const child = new Deno.Command(cmd, {
    args,
    env: options.env,
    cwd: options.cwd,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const tail: string[] = [];
  void (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      tail.push(chunk);
      if (tail.length > 10) tail.shift();
    }
  })().catch(() => {});
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(splitLines())[
    Symbol.asyncIterator
  ]();
  return { child, lines, writer: child.stdin.getWriter(), tail };
}

function splitLines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const p of parts) if (p.trim() !== "") controller.enqueue(p);
    },
    flush(controller) {
      if (rest.trim() !== "") controller.enqueue(rest);
    },
  });
}

/** The next line of `p`, or an error naming `what` after `timeoutMs` or when `p` exits. */
export async function nextLine(p: LineProcess, what: string, timeoutMs: number): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const { value, done } = await Promise.race([p.lines.next(), timeout]);
    if (done) throw new Error(`${what}: process exited: ${p.tail.join("").slice(-400)}`);
    return value;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts a benchmark server (`_server_*.ts`, `_server_node.mjs`) and waits
 * for its `READY <port>` line; its later output is read and dropped, so that
 * it never blocks on a full pipe. `what` names it in errors.
 */
export async function startBenchServer(
  cmd: string,
  args: string[],
  options: { env: Record<string, string>; cwd: string; what: string; timeoutMs?: number },
): Promise<{ process: LineProcess; port: number }> {
  const server = spawnLines(cmd, args, options);
  try {
    for (;;) {
      const line = await nextLine(server, options.what, options.timeoutMs ?? 30_000);
      const port = line.match(/READY (\d+)/)?.[1];
      if (port === undefined) continue;
      void (async () => {
        while (!(await server.lines.next()).done);
      })().catch(() => {});
      return { process: server, port: Number(port) };
    }
  } catch (error) {
    await kill(server);
    throw error;
  }
}

/**
 * What a benchmark client prints (bench/_scenarios.mjs): the scenario's
 * figure, the operations it timed, and CPU over the timed part, in total and
 * per thread group (bench/_threads.mjs), for itself and for the server (whose
 * figures are missing when it has no `/stats`).
 */
export interface BenchResult {
  /** The figure, in the scenario's unit (calls/s, MB/s, conn/s, µs). */
  value: number;
  /** Operations (calls, echoes, connections) in the timed part. */
  n: number;
  clientCpuMs: number;
  serverCpuMs?: number;
  clientThreadsMs?: Record<string, number>;
  serverThreadsMs?: Record<string, number>;
  [key: string]: unknown;
}

/**
 * Runs a one-shot benchmark client (`_client.ts`, `_client_node.mjs`) to its
 * end and returns its result, the JSON object on its last line of output.
 */
export async function runBenchClient(
  cmd: string,
  args: string[],
  options: { env: Record<string, string>; cwd: string; timeoutMs?: number },
): Promise<BenchResult> {
  const out = await new Deno.Command(cmd, {
    args,
    env: options.env,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(options.timeoutMs ?? 120_000),
  }).output();
  const last = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  if (!out.success || !last.startsWith("{")) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`client exited ${out.code}: ${err.slice(0, 300)}`);
  }
  return JSON.parse(last);
}

/** `[cmd, args]` that runs `bench/<file> <arg>` under `runtime`: `deno run -A` or `bun`. */
export function benchScript(
  runtime: string,
  root: string,
  file: string,
  arg: string,
): [string, string[]] {
  const script = `${root}bench/${file}`;
  return runtime === "deno" ? ["deno", ["run", "-A", script, arg]] : [runtime, [script, arg]];
}

let pinnable: boolean | undefined;

/** Whether `taskset` can pin a process to a core here (checked once). */
export function canPin(): boolean {
  pinnable ??= new Deno.Command("taskset", { args: ["-c", "0", "true"], stderr: "null" })
    .outputSync().success;
  return pinnable;
}

/** `command` on core `core` (through `taskset`), or unchanged when `pin` is false. */
function onCore(core: number, [cmd, args]: [string, string[]], pin: boolean): [string, string[]] {
  return pin ? ["taskset", ["-c", String(core), cmd, ...args]] : [cmd, args];
}

/**
 * One measurement against a fresh server: starts `_server_<runtime>.ts
 * <mode>` (with `serverEnv` added to its environment), runs `_client.ts`
 * under the same runtime with `spec` and the server's `url` and `httpBase`,
 * stops the server, and returns the client's result. With `pin`, the server
 * runs on core 0 and the client on core 1.
 */
export async function measureOnce(options: {
  runtime: string;
  root: string;
  mode: string;
  spec: Record<string, unknown>;
  serverEnv?: Record<string, string>;
  pin?: boolean;
}): Promise<BenchResult> {
  const { runtime, root, pin = false } = options;
  const env = childEnv(root);
  const cwd = `${root}bench`;
  const [cmd, args] = onCore(
    0,
    benchScript(runtime, root, `_server_${runtime}.ts`, options.mode),
    pin,
  );
  const server = await startBenchServer(cmd, args, {
    env: { ...env, ...options.serverEnv },
    cwd,
    what: `server ${options.mode}`,
  });
  try {
    const spec = JSON.stringify({
      ...options.spec,
      url: `ws://127.0.0.1:${server.port}/`,
      httpBase: `http://127.0.0.1:${server.port}`,
    });
    const [ccmd, cargs] = onCore(1, benchScript(runtime, root, "_client.ts", spec), pin);
    return await runBenchClient(ccmd, cargs, { env, cwd });
  } finally {
    await kill(server.process);
  }
}

/** Kills `p` (if it still runs) and waits for it. */
export async function kill(p: LineProcess): Promise<void> {
  try {
    p.child.kill("SIGKILL");
  } catch {
    // already gone
  }
  await p.child.status;
}

/**
 * Sends each client process its command (one JSON line) and waits for each
 * one's JSON answer, within `timeoutMs`.
 */
export async function ask(
  clients: LineProcess[],
  commands: unknown[],
  what: string,
  timeoutMs: number,
): Promise<unknown[]> {
  const encoder = new TextEncoder();
  await Promise.all(
    clients.map((c, i) => c.writer.write(encoder.encode(JSON.stringify(commands[i]) + "\n"))),
  );
  return await Promise.all(
    clients.map(async (c) => JSON.parse(await nextLine(c, what, timeoutMs))),
  );
}

/** Splits `n` connections over `k` processes, as evenly as they go. */
export function split(n: number, k: number): number[] {
  return Array.from({ length: k }, (_, i) => Math.floor(n / k) + (i < n % k ? 1 : 0));
}
