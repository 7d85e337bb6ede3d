/**
 * Dev-only libraries for the tests that need them (Zod, Valibot,
 * OpenTelemetry), from `tests/ext/package.json`: installed by `npm ci
 * --prefix tests/ext` on first use, then imported by a computed specifier so
 * that type checking never needs them.
 */

const DIR = new URL("./ext/", import.meta.url);

let installing: Promise<void> | undefined;

/** Installs tests/ext/node_modules (`npm ci`) unless `name` is there already. */
async function install(name: string): Promise<void> {
  try {
    await Deno.stat(new URL(`node_modules/${name}/package.json`, DIR));
    return;
  } catch {
    // not installed yet, or the lock file gained it
  }
  await (installing ??= (async () => {
    const out = await new Deno.Command("npm", {
      args: ["ci", "--prefix", DIR.pathname, "--no-audit", "--no-fund", "--loglevel=error"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`npm ci --prefix tests/ext failed: ${new TextDecoder().decode(out.stderr)}`);
    }
  })());
}

/** Imports a package of tests/ext by name (a module under tests/ext resolves it from there). */
// deno-lint-ignore no-explicit-any
export async function importDev(name: string): Promise<any> {
  await install(name);
  const pkg = JSON.parse(
    await Deno.readTextFile(new URL(`node_modules/${name}/package.json`, DIR)),
  );
  const entry = esmEntry(pkg);
  return await import(new URL(`node_modules/${name}/${entry}`, DIR).href);
}

/** The entry of a package.json for a Node-style loader: `exports["."]`'s `import`, `node`, `require` or `default`, else `main`. */
function esmEntry(pkg: Record<string, unknown>): string {
  let target = (pkg.exports as Record<string, unknown> | undefined)?.["."] ?? pkg.exports;
  for (let i = 0; i < 5 && target !== null && typeof target === "object"; i++) {
    const t = target as Record<string, unknown>;
    // Not `module`: OpenTelemetry's is for bundlers (imports without extensions).
    target = t.import ?? t.node ?? t.require ?? t.default;
  }
  if (typeof target === "string") return target;
  return (pkg.main ?? "index.js") as string;
}
