/**
 * Prints the top self-time functions of a V8 `.cpuprofile` (as written by
 * `deno run --cpu-prof`): `deno run -A bench/_profile_top.ts <file> [count]`.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function, in ms, sorted by self time. */
export function topSelf(
  profile: Profile,
): { name: string; ms: number; share: number }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!);
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.replace(/^.*\/(bench|lib|node_modules)\//, "$1/").replace(
      /^file:\/\/.*\//,
      "",
    );
    const name = `${functionName || "(anonymous)"} ${file ? `${file}:${lineNumber + 1}` : ""}`
      .trim();
    self.set(name, (self.get(name) ?? 0) + dt);
    total += dt;
  }
  return [...self.entries()]
    .map(([name, ms]) => ({ name, ms, share: ms / total }))
    .sort((a, b) => b.ms - a.ms);
}

if (import.meta.main) {
  const [file, count] = Deno.args;
  const rows = topSelf(JSON.parse(await Deno.readTextFile(file!)));
  for (const r of rows.slice(0, Number(count ?? 25))) {
    console.log(
      `${(r.share * 100).toFixed(1).padStart(5)}% ${r.ms.toFixed(0).padStart(6)} ms  ${r.name}`,
    );
  }
}
