/**
 * The whole test suite, as README.md and .ci/run give it: static checks, then
 * every test runner. Prints each runner's output, then one line
 * `N passed, N failed` with the counts summed over all runners (tests and
 * their steps), and exits non-zero when anything failed. A stage that runs
 * past its time limit is killed and counted as failed, so a hanging test
 * fails CI instead of stalling it.
 *
 * Run with `deno task test`.
 */

export interface Stage {
  name: string;
  cmd: string[];
  /** Wall-time limit; past it the stage is killed and counts as failed. */
  timeoutMs: number;
  /** Reads the runner's counts from its output; static checks count as one test. */
  count?: (output: string) => { passed: number; failed: number } | undefined;
}

const deno = Deno.execPath();
const MINUTE = 60_000;

/** The last match of `pattern` (global) in `text`: a runner prints its summary last. */
function lastMatch(text: string, pattern: RegExp): RegExpMatchArray | undefined {
  return [...text.matchAll(pattern)].at(-1);
}

/** Reads `deno test`'s final summary line. Exported for tests/run_all_test.ts. */
export function denoCounts(output: string): { passed: number; failed: number } | undefined {
  // e.g. "ok | 41 passed (97 steps) | 0 failed (3s)"
  const m = lastMatch(
    output,
    /^(?:ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?/gm,
  );
  if (!m) return undefined;
  return {
    passed: Number(m[1]) + Number(m[2] ?? 0),
    failed: Number(m[3]) + Number(m[4] ?? 0),
  };
}

/** Reads `bun test`'s final summary lines. Exported for tests/run_all_test.ts. */
export function bunCounts(output: string): { passed: number; failed: number } | undefined {
  // e.g. " 12 pass\n 0 fail\nRan 12 tests across 2 files."
  const pass = lastMatch(output, /^\s*(\d+) pass$/gm);
  const fail = lastMatch(output, /^\s*(\d+) fail$/gm);
  if (!pass || !fail) return undefined;
  return { passed: Number(pass[1]), failed: Number(fail[1]) };
}

const stages: Stage[] = [
  {
    name: "static checks (fmt, lint, check, doc lint, publish dry-run)",
    cmd: [deno, "task", "-q", "check"],
    timeoutMs: 10 * MINUTE,
  },
  {
    name: "deno tests",
    cmd: [deno, "task", "-q", "test:deno"],
    timeoutMs: 15 * MINUTE,
    count: denoCounts,
  },
  // Bun-only tests (tests/bun/, see bunfig.toml): the Bun adapter and Bun <-> Deno interop.
  {
    name: "bun tests",
    cmd: ["bun", "test", "./tests/bun/"],
    timeoutMs: 10 * MINUTE,
    count: bunCounts,
  },
];

/**
 * Runs one stage, echoing its output; kills it (TERM, then KILL) when it runs
 * past `timeoutMs`. The stage runs in its own process group so that the kill
 * reaches what it started too (`deno task` -> `deno test` -> servers); output
 * still held open after the kill is abandoned shortly after, so a stuck stage
 * cannot stall the run.
 */
export async function runStage(
  stage: Stage,
): Promise<{ text: string; success: boolean; code: number; timedOut: boolean }> {
  const child = new Deno.Command(stage.cmd[0]!, {
    args: stage.cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
    detached: true,
  }).spawn();
  let text = "";
  const readers: ReadableStreamDefaultReader<Uint8Array>[] = [];
  const pump = async (stream: ReadableStream<Uint8Array>, out: typeof Deno.stdout) => {
    const decoder = new TextDecoder(); // one per stream: chunks of the two interleave
    const reader = stream.getReader();
    readers.push(reader);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        await out.write(value);
      }
    } catch {
      // cancelled after a timeout
    }
  };
  const pumps = Promise.all([pump(child.stdout, Deno.stdout), pump(child.stderr, Deno.stderr)]);
  let timedOut = false;
  const kill = (signal: Deno.Signal) => {
    try {
      Deno.kill(-child.pid, signal); // the whole group
    } catch {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    }
  };
  // Detached from the terminal's group: pass Ctrl-C on.
  const onInterrupt = () => {
    kill("SIGKILL");
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  const timers = [
    setTimeout(() => {
      timedOut = true;
      console.error(
        `\n=== ${stage.name}: no result after ${stage.timeoutMs / 1000} s, killing`,
      );
      kill("SIGTERM");
    }, stage.timeoutMs),
    setTimeout(() => kill("SIGKILL"), stage.timeoutMs + 10_000),
  ];
  const status = await child.status;
  timers.forEach(clearTimeout);
  Deno.removeSignalListener("SIGINT", onInterrupt);
  const grace = new Promise<void>((resolve) => timers.push(setTimeout(resolve, 5_000)));
  if (timedOut) await Promise.race([pumps, grace]);
  else await pumps;
  timers.forEach(clearTimeout);
  await Promise.all(readers.map((r) => r.cancel().catch(() => {})));
  return { text, success: status.success && !timedOut, code: status.code, timedOut };
}

if (import.meta.main) {
  let passed = 0;
  let failed = 0;
  for (const stage of stages) {
    console.log(`\n=== ${stage.name}: ${stage.cmd.slice(1).join(" ")}`);
    const { text, success, code, timedOut } = await runStage(stage);
    // deno-lint-ignore no-control-regex
    const counts = timedOut ? undefined : stage.count?.(text.replace(/\x1b\[[0-9;]*m/g, ""));
    if (counts) {
      passed += counts.passed;
      failed += counts.failed;
      if (!success && counts.failed === 0) failed++; // the runner itself failed
    } else if (success) {
      passed++;
    } else {
      failed++; // crashed, timed out, or printed no summary
    }
    const outcome = success ? "ok" : timedOut ? "FAILED (timed out)" : `FAILED (exit ${code})`;
    console.log(`=== ${stage.name}: ${outcome}`);
  }
  console.log(`\n${passed} passed, ${failed} failed`);
  Deno.exit(failed === 0 ? 0 : 1);
}
