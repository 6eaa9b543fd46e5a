import { chmod, cp, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { packageRoot } from "../../src/common/package-root.js";
import { runTool } from "./run.js";
import { removeDir, tempDir } from "./temp.js";

/**
 * The built files a child started as another user needs, copied where any user can read
 * them. A test that starts a child as an unprivileged user (runuser, setpriv) cannot rely
 * on that user reaching the clone's dist/ and node_modules/: a clone under root's home
 * (mode 700 on Debian) or under a `mktemp -d` is closed to everyone else ("Cannot find
 * module"). `parts` are paths relative to the package root (files or folders);
 * `withRuntime` adds package.json (how the code finds its package root) and every
 * production package of package-lock.json that is installed (what a product binary
 * imports). The copy is a fresh temp dir, mode 0755, everything in it world-readable.
 */
export async function readableCopy(
  name: string,
  parts: readonly string[],
  opts: { withRuntime?: boolean } = {},
): Promise<{ root: string; file(rel: string): string; remove(): Promise<void> }> {
  const src = packageRoot();
  const root = await tempDir(`${name}-readable`);
  const all = [...parts];
  if (opts.withRuntime) all.push("package.json", ...(await productionPackages(src)));
  for (const rel of all) {
    const from = path.join(src, rel);
    const exists = await stat(from).then(
      () => true,
      () => false,
    );
    if (!exists) continue; // an optional package not installed on this platform
    await cp(from, path.join(root, rel), { recursive: true, dereference: true });
  }
  await chmod(root, 0o755);
  const r = await runTool("chmod", ["-R", "a+rX", root]);
  if (r.code !== 0) throw new Error(`chmod -R a+rX ${root}: ${r.stderr}`);
  return { root, file: (rel) => path.join(root, rel), remove: () => removeDir(root) };
}

/** node_modules/... of every package package-lock.json marks neither dev nor dev-optional. */
async function productionPackages(root: string): Promise<string[]> {
  const lock = JSON.parse(await readFile(path.join(root, "package-lock.json"), "utf8")) as {
    packages: Record<string, { dev?: boolean; devOptional?: boolean }>;
  };
  return Object.entries(lock.packages)
    .filter(([p, v]) => p.startsWith("node_modules/") && !v.dev && !v.devOptional)
    .map(([p]) => p);
}
