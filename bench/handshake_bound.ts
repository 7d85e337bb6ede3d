/**
 * `deno run -A bench/handshake_bound.ts`: how far (e), ed25519 connections
 * per second against bare ones, can go for any mutual handshake on this
 * machine. Each round opens connections (scenario `connect`, 8 at a time)
 * with four authenticators, interleaved, on Deno and Bun:
 *
 * - `bare`: no handshake (the (e) baseline);
 * - `frames2`: one frame each way and no cryptography (bench/_auth.ts): as
 *   few frames as a handshake can add in which each side answers a fresh
 *   challenge from the other (the server's challenge, the client's proof with
 *   its own challenge; the server's proof could ride on the first ping);
 * - `frames`: the ed25519 handshake's four messages, no cryptography;
 * - `ed25519`: the handshake itself (WebCrypto).
 *
 * Prints, per runtime, medians of connections per second, of the ratio to
 * bare in the same round, and of CPU per connection (client / server, with
 * the main thread apart), then the signature operations' CPU per connection
 * (`ed25519` minus `frames`, per side), the CPU a handshake may take for
 * 0.6 of bare, and what `frames2` plus the signatures would allow: about the
 * bound for a handshake with the fewest frames and the four signature
 * operations mutual authentication needs. Client and server share the
 * machine's two cores, so the bound is by CPU per connection, both sides.
 *
 * Flags: `--runs=N` (rounds, default 5), `--runtimes=deno,bun`, `--n=N`
 * (connections per measurement, default 2000).
 *
 * @module
 */

import { flag, measureOnce } from "./_harness.ts";
import { median } from "./_median.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const RUNS = Number(flag("runs") ?? 5);
const RUNTIMES = (flag("runtimes") ?? "deno,bun").split(",");
const N = Number(flag("n") ?? 2000);

const SYSTEMS: Record<string, { mode: string; auth?: string }> = {
  bare: { mode: "wsrpc" },
  frames2: { mode: "wsrpc-auth-frames2", auth: "frames2" },
  frames: { mode: "wsrpc-auth-frames", auth: "frames" },
  ed25519: { mode: "wsrpc-auth-webcrypto", auth: "webcrypto" },
};

interface Sample {
  rate: number;
  ratio: number;
  /** CPU µs per connection: client, server, and their main threads. */
  client: number;
  server: number;
  clientMain: number;
  serverMain: number;
}

const samples = new Map<string, Sample[]>();
for (let round = 1; round <= RUNS; round++) {
  for (const runtime of RUNTIMES) {
    let bareRate = NaN;
    for (const [name, system] of Object.entries(SYSTEMS)) {
      const result = await measureOnce({
        runtime,
        root: ROOT,
        mode: system.mode,
        spec: {
          scenario: "connect",
          impl: "wsrpc",
          ...(system.auth === undefined ? {} : { auth: system.auth }),
          n: N,
          concurrency: 8,
          warmup: 200,
        },
      });
      if (name === "bare") bareRate = result.value;
      const us = (ms: number | undefined) => (ms ?? NaN) * 1000 / result.n;
      const sample: Sample = {
        rate: result.value,
        ratio: result.value / bareRate,
        client: us(result.clientCpuMs),
        server: us(result.serverCpuMs),
        clientMain: us(result.clientThreadsMs?.main),
        serverMain: us(result.serverThreadsMs?.main),
      };
      const key = `${runtime} ${name}`;
      samples.set(key, [...samples.get(key) ?? [], sample]);
      console.log(
        `round ${round} ${key.padEnd(13)} ${Math.round(sample.rate)} conn/s, ratio ${
          sample.ratio.toFixed(2)
        }, CPU µs client ${sample.client.toFixed(0)} server ${sample.server.toFixed(0)}`,
      );
    }
  }
}

const med = (runtime: string, name: string, field: keyof Sample): number =>
  median(samples.get(`${runtime} ${name}`)!.map((s) => s[field]));
const fixed = (x: number, digits = 0) => x.toFixed(digits);

for (const runtime of RUNTIMES) {
  const cell = (name: string, field: keyof Sample, digits = 0) =>
    fixed(med(runtime, name, field), digits);
  console.log(`\n## ${runtime}, medians of ${RUNS} rounds, ${N} connections each`);
  console.log("| handshake | conn/s | / bare | CPU µs per conn, client (main) | server (main) |");
  console.log("|---|--:|--:|--:|--:|");
  for (const name of Object.keys(SYSTEMS)) {
    console.log(
      `| ${name} | ${cell(name, "rate")} | ${cell(name, "ratio", 2)} | ${cell(name, "client")} (${
        cell(name, "clientMain")
      }) | ${cell(name, "server")} (${cell(name, "serverMain")}) |`,
    );
  }
  // Client and server share the machine's cores: CPU per connection, both
  // sides together, bounds the rate.
  const side = (name: string, s: "client" | "server") => med(runtime, name, s);
  const total = (name: string) => side(name, "client") + side(name, "server");
  const signing = total("ed25519") - total("frames");
  const budget = total("bare") / 0.6 - total("bare");
  const bound = total("bare") / (total("frames2") + signing);
  console.log(
    `\nsignature operations (ed25519 minus frames), CPU µs per connection: ${
      fixed(side("ed25519", "client") - side("frames", "client"))
    } client, ${fixed(side("ed25519", "server") - side("frames", "server"))} server`,
  );
  console.log(
    `0.6 of bare leaves ${fixed(budget)} µs of CPU per connection, both sides, for a handshake; ` +
      `the signature operations alone take ${fixed(signing)}`,
  );
  console.log(
    `fewest frames plus those operations: about ${fixed(bound, 2)} of bare ` +
      "(bare's CPU per connection over frames2's plus the operations', both sides)",
  );
}
