/**
 * What the long benchmark drivers (`curves.ts`, `topics.ts`) share: running
 * again under a raised file-descriptor limit, a timestamped log line, and the
 * environment their child processes get (the pinned Deno and Bun first).
 */

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
