// What every benchmark server's `GET /stats` answers, runtime-neutral (Deno,
// Bun, Node): the process's CPU time, in total and per thread group
// (_threads.mjs), its memory, and the open sessions the server counts.

import process from "node:process";
import { threadCpuMs } from "./_threads.mjs";

/** `{ cpuMs, rss, heapUsed, sessions, threads }` of this process now. */
export function processStats(sessions) {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    sessions,
    threads: threadCpuMs(),
  };
}
