// CPU time per thread of this process, by thread name (Linux only: read
// from /proc/self/task). The benchmark reports it for both sides of the
// timed part, so that a runtime's compiler and collector threads (Bun's
// `JITWorker` and `HeapHelper`, V8's `V8 DefaultWorker`) are seen apart
// from the main thread, which runs the protocol. Plain JavaScript, used by
// the Deno, Bun and Node processes alike.

import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";

/**
 * Milliseconds of CPU each thread group has used so far: `main` (the thread
 * whose id is the process id), and the others by name with trailing digits
 * dropped (`JITWorker`, `HeapHelper`, `V8 DefaultWorke`, ...). Undefined
 * where /proc is not there. Threads that have exited are not counted.
 */
export function threadCpuMs() {
  let tids;
  try {
    tids = readdirSync("/proc/self/task");
  } catch {
    return undefined;
  }
  const out = {};
  for (const tid of tids) {
    try {
      const name = Number(tid) === process.pid
        ? "main"
        : readFileSync(`/proc/self/task/${tid}/comm`, "utf8").replace(/[\d-]*\s*$/, "");
      // schedstat: time on CPU in nanoseconds, time waiting, timeslices.
      const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      out[name] = (out[name] ?? 0) + ns / 1e6;
    } catch {
      // The thread exited between the listing and the read.
    }
  }
  return out;
}

/** `after - before` per group, in ms (groups new since `before` count from 0). */
export function threadCpuDelta(before, after) {
  if (before === undefined || after === undefined) return undefined;
  const out = {};
  for (const [name, ms] of Object.entries(after)) out[name] = ms - (before[name] ?? 0);
  return out;
}
