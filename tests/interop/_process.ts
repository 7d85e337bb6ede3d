/**
 * Runs a server script of another runtime as a subprocess (Deno side): waits
 * for the URL on its first stdout line, keeps the later lines, and stops it
 * with SIGTERM.
 */

/** A server running in a subprocess. */
export interface ChildServer extends AsyncDisposable {
  /** The WebSocket URL it printed. */
  url: string;
  /** Every stdout line. */
  lines: string[];
  /** All of stderr so far. */
  stderr(): string;
  /** Waits until a line matching `pattern` has been printed. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Stops it (SIGTERM) and waits for it to exit; returns its exit code. */
  stop(): Promise<number>;
}

/** Options for {@linkcode startChild}. */
export interface ChildOptions {
  /** Time to wait for the URL. */
  timeoutMs?: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Finds the URL in the output; by default the first stdout line. */
  findURL?: (stdout: string[], stderr: string) => string | undefined;
  /** How `stop()` ends it. */
  stopSignal?: Deno.Signal;
}

/** Starts `cmd args...` and waits for the URL it prints. */
export async function startChild(
  cmd: string,
  args: string[],
  options: ChildOptions = {},
): Promise<ChildServer> {
  const {
    timeoutMs = 30_000,
    env,
    findURL = (stdout) => stdout[0],
    stopSignal = "SIGTERM",
  } = options;
  const child = new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    ...(env === undefined ? {} : { env }),
  }).spawn();
  const lines: string[] = [];
  let stderr = "";
  let wake: (() => void) | undefined;
  const pumpOut = (async () => {
    let rest = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      let nl;
      while ((nl = rest.indexOf("\n")) >= 0) {
        lines.push(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
      }
      wake?.();
    }
    wake?.();
  })();
  const pumpErr = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      stderr += chunk;
      wake?.();
    }
  })();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    wake?.();
    return s;
  });

  const waitFor = async (test: () => string | undefined, ms: number, what: string) => {
    const until = Date.now() + ms;
    for (;;) {
      const found = test();
      if (found !== undefined) return found;
      if (exited || Date.now() > until) {
        throw new Error(`${cmd} ${args.join(" ")}: no ${what}; stderr:\n${stderr}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };

  let stopped: Promise<number> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      if (!exited) {
        try {
          child.kill(stopSignal);
        } catch { /* already gone */ }
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, 10_000);
      const { code } = await status;
      clearTimeout(timer);
      await Promise.all([pumpOut, pumpErr]);
      return code;
    })();

  try {
    const url = await waitFor(() => findURL(lines, stderr), timeoutMs, "URL");
    return {
      url,
      lines,
      stderr: () => stderr,
      waitForLine: (pattern, ms = 10_000) =>
        waitFor(() => lines.find((l) => pattern.test(l)), ms, `line ${pattern}`),
      stop,
      [Symbol.asyncDispose]: async () => {
        await stop();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Runs a command to completion and returns its output.
 *
 * @throws {Error} With its stderr and stdout when it exits non-zero.
 */
export async function run(
  cmd: string,
  args: string[],
  env?: Record<string, string>,
): Promise<{ stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    ...(env === undefined ? {} : { env }),
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  if (out.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}):\n${stderr}${stdout}`);
  }
  return { stdout, stderr };
}

/** Bundles `entry` into one ES module at `out` for browsers (and Node) with `deno bundle`. */
export async function bundleForBrowser(entry: string, out: string): Promise<void> {
  await run(Deno.execPath(), ["bundle", "--quiet", "--platform", "browser", "-o", out, entry]);
}
