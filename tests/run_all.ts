/**
 * The whole test suite, as README.md and .ci/run give it: static checks, then
 * every test runner. Prints each runner's output, then one line
 * `N passed, N failed` with the counts summed over all runners (tests and
 * their steps), and exits non-zero when anything failed.
 *
 * Run with `deno task test`.
 */

interface Stage {
  name: string;
  cmd: string[];
  /** Reads the runner's counts from its output; static checks count as one test. */
  count?: (output: string) => { passed: number; failed: number } | undefined;
}

const deno = Deno.execPath();

function denoCounts(output: string): { passed: number; failed: number } | undefined {
  // e.g. "ok | 41 passed (97 steps) | 0 failed (3s)"
  const m = output.match(
    /(?:ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?/,
  );
  if (!m) return undefined;
  return {
    passed: Number(m[1]) + Number(m[2] ?? 0),
    failed: Number(m[3]) + Number(m[4] ?? 0),
  };
}

function bunCounts(output: string): { passed: number; failed: number } | undefined {
  // e.g. " 12 pass\n 0 fail\nRan 12 tests across 2 files."
  const pass = output.match(/^\s*(\d+) pass$/m);
  const fail = output.match(/^\s*(\d+) fail$/m);
  if (!pass || !fail) return undefined;
  return { passed: Number(pass[1]), failed: Number(fail[1]) };
}

const stages: Stage[] = [
  {
    name: "static checks (fmt, lint, check, doc lint, publish dry-run)",
    cmd: [deno, "task", "-q", "check"],
  },
  { name: "deno tests", cmd: [deno, "task", "-q", "test:deno"], count: denoCounts },
  // Bun-only tests (tests/bun/, see bunfig.toml): the Bun adapter and Bun <-> Deno interop.
  { name: "bun tests", cmd: ["bun", "test", "./tests/bun/"], count: bunCounts },
];

let passed = 0;
let failed = 0;
for (const stage of stages) {
  console.log(`\n=== ${stage.name}: ${stage.cmd.slice(1).join(" ")}`);
  const child = new Deno.Command(stage.cmd[0]!, {
    args: stage.cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  let text = "";
  const pump = async (stream: ReadableStream<Uint8Array>, out: typeof Deno.stdout) => {
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      await out.write(chunk);
    }
  };
  const [status] = await Promise.all([
    child.status,
    pump(child.stdout, Deno.stdout),
    pump(child.stderr, Deno.stderr),
  ]);
  // deno-lint-ignore no-control-regex
  const counts = stage.count?.(text.replace(/\x1b\[[0-9;]*m/g, ""));
  if (counts) {
    passed += counts.passed;
    failed += counts.failed;
    if (!status.success && counts.failed === 0) failed++; // the runner itself failed
  } else if (status.success) {
    passed++;
  } else {
    failed++;
  }
  console.log(`=== ${stage.name}: ${status.success ? "ok" : `FAILED (exit ${status.code})`}`);
}
console.log(`\n${passed} passed, ${failed} failed`);
Deno.exit(failed === 0 ? 0 : 1);
