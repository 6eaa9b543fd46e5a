import { readdir, stat } from "node:fs/promises";
import path from "node:path";

/** What the build was made from: the TypeScript of these folders compiles to dist/. */
export const BUILT_FOLDERS = ["src", "lab"];

/**
 * The TypeScript files of `folders` (under `repo`) changed after dist/build-info.json was
 * written (`npm run build` writes it last). `stamp` is null when there is no build.
 */
export async function staleSources(
  repo: string,
  folders: string[] = BUILT_FOLDERS,
): Promise<{ stamp: number | null; newer: string[] }> {
  const stamp = await stat(path.join(repo, "dist", "build-info.json")).then(
    (s) => s.mtimeMs,
    () => null,
  );
  if (stamp === null) return { stamp, newer: [] };
  const newer: string[] = [];
  for (const folder of folders) {
    const entries = await readdir(path.join(repo, folder), {
      withFileTypes: true,
      recursive: true,
    });
    for (const e of entries) {
      if (!e.isFile() || !e.name.endsWith(".ts")) continue;
      const file = path.join(e.parentPath, e.name);
      if ((await stat(file)).mtimeMs > stamp) newer.push(path.relative(repo, file));
    }
  }
  return { stamp, newer: newer.sort() };
}

/** The error the integration tests stop with when dist/ is not what the sources say; null when it is. */
export async function buildProblem(repo: string): Promise<string | null> {
  const { stamp, newer } = await staleSources(repo);
  if (stamp === null)
    return `${path.join(repo, "dist", "build-info.json")} is missing: run "npm run build" first`;
  if (newer.length === 0) return null;
  const shown =
    newer.slice(0, 5).join(", ") + (newer.length > 5 ? ` and ${newer.length - 5} more` : "");
  return `dist/ is older than ${shown}: run "npm run build" (the tests start the compiled binaries)`;
}
