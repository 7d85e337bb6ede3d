/** The suite runner's own checks: it reads the right summary and cannot hang. */
import assert from "node:assert/strict";
import { bunCounts, denoCounts, runStage } from "./run_all.ts";

Deno.test("run_all reads deno test's last summary line, not an earlier one", () => {
  // A test that runs `deno test` in a subprocess echoes that run's summary first.
  const output = [
    "running 1 test from ./tests/nested_test.ts",
    "ok | 1 passed | 0 failed (5ms)",
    "outer test ... ok (1s)",
    "",
    "FAILED | 40 passed (97 steps) | 2 failed (1 step) (3s)",
  ].join("\n");
  assert.deepEqual(denoCounts(output), { passed: 137, failed: 3 });
  assert.equal(denoCounts("no summary here"), undefined);
});

Deno.test("run_all reads bun test's last pass and fail lines", () => {
  const output = [" 1 pass", " 0 fail", "...", " 12 pass", " 2 fail", "Ran 14 tests"].join("\n");
  assert.deepEqual(bunCounts(output), { passed: 12, failed: 2 });
});

Deno.test("run_all kills a stage past its time limit, with what it started", async () => {
  const marker = `wsrpc_run_all_${crypto.randomUUID()}`;
  const started = Date.now();
  const result = await runStage({
    name: "hangs",
    // A grandchild that would keep the output pipe open if only the shell died.
    cmd: ["sh", "-c", `sleep 300 ${marker} 2>/dev/null & echo started; sleep 300`],
    timeoutMs: 500,
  });
  assert.equal(result.timedOut, true);
  assert.equal(result.success, false);
  assert.match(result.text, /started/);
  assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
  const left = await new Deno.Command("pgrep", { args: ["-f", marker], stdout: "piped" }).output();
  assert.equal(new TextDecoder().decode(left.stdout).trim(), "", "the grandchild survived");
});

Deno.test("run_all runs a stage that finishes in time to the end", async () => {
  const result = await runStage({
    name: "quick",
    cmd: ["sh", "-c", "echo out; echo err >&2; exit 3"],
    timeoutMs: 60_000,
  });
  assert.deepEqual(
    { timedOut: result.timedOut, success: result.success, code: result.code },
    { timedOut: false, success: false, code: 3 },
  );
  assert.match(result.text, /out/);
  assert.match(result.text, /err/);
});
