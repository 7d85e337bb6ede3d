/**
 * Summarizes a V8 heap snapshot (`.heapsnapshot`, as `bench/profile.ts --heap`
 * writes): self size by node type and name, and the strings of at least
 * `minKiB` (default 32) with what holds them (one retainer level).
 * `deno run -A bench/_heap_top.ts <file> [minKiB]`.
 *
 * @module
 */

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[]];
      edge_fields: string[];
      edge_types: [string[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** Prints the summary of `snap`. */
export function summarize(snap: Snapshot, minKiB = 32): string[] {
  const { meta } = snap.snapshot;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const [tType, tName, tSize, tEdges] = ["type", "name", "self_size", "edge_count"].map((f) =>
    meta.node_fields.indexOf(f)
  ) as [number, number, number, number];
  const [eType, eName, eTo] = ["type", "name_or_index", "to_node"].map((f) =>
    meta.edge_fields.indexOf(f)
  ) as [number, number, number];
  const types = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const { nodes, edges, strings } = snap;
  const bySize = new Map<string, { count: number; bytes: number }>();
  const big = new Set<number>();
  let total = 0;
  for (let i = 0; i < nodes.length; i += nf) {
    const type = types[nodes[i + tType]!]!;
    const size = nodes[i + tSize]!;
    total += size;
    const name = type === "string" || type === "concatenated string" || type === "sliced string"
      ? `(${type})`
      : `${type}: ${strings[nodes[i + tName]!]!.slice(0, 60)}`;
    const entry = bySize.get(name) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += size;
    bySize.set(name, entry);
    if (type.includes("string") && size >= minKiB * 1024) big.add(i);
  }
  const out = [`total ${(total / 1048576).toFixed(1)} MiB in ${nodes.length / nf} objects`];
  for (const [name, e] of [...bySize].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 15)) {
    out.push(
      `  ${(e.bytes / 1048576).toFixed(2).padStart(7)} MiB ${String(e.count).padStart(8)}  ${name}`,
    );
  }
  // Retainers of the big strings: one level up, by the holder's name and edge.
  const holders = new Map<string, number>();
  let edgeIndex = 0;
  for (let i = 0; i < nodes.length; i += nf) {
    const count = nodes[i + tEdges]!;
    for (let k = 0; k < count; k++, edgeIndex += ef) {
      const to = edges[edgeIndex + eTo]!;
      if (!big.has(to)) continue;
      const kind = edgeTypes[edges[edgeIndex + eType]!]!;
      const nameOrIndex = edges[edgeIndex + eName]!;
      const edgeName = kind === "element" || kind === "hidden"
        ? `[${nameOrIndex}]`
        : strings[nameOrIndex];
      const holder = `${types[nodes[i + tType]!]}: ${
        strings[nodes[i + tName]!]!.slice(0, 50)
      } .${edgeName} (${kind})`;
      holders.set(holder, (holders.get(holder) ?? 0) + 1);
    }
  }
  out.push(`${big.size} strings of ${minKiB} KiB or more; held by:`);
  for (const [holder, n] of [...holders].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    out.push(`  ${String(n).padStart(5)}  ${holder}`);
  }
  return out;
}

if (import.meta.main) {
  const [file, minKiB] = Deno.args;
  console.log(
    summarize(JSON.parse(await Deno.readTextFile(file!)), Number(minKiB ?? 32)).join("\n"),
  );
}
