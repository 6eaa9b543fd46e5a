import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const PACKAGE_NAME = "hosted-engine-ha";

let cached: { root: string; version: string } | null | undefined;

/**
 * The installed hosted-engine-ha package: its directory and version, found once by
 * walking up from this module to the package.json named hosted-engine-ha (two levels
 * up from src/common, three from dist/src/common). Read synchronously: it is called at
 * process start-up, before any event-loop work. null when not found.
 */
export function findPackage(): { root: string; version: string } | null {
  if (cached !== undefined) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === "string") {
        cached = { root: dir, version: pkg.version };
        return cached;
      }
    } catch {
      // no package.json at this level (or unreadable): keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  cached = null;
  return cached;
}

/** The package's directory; throws when this module is not inside the package. */
export function packageRoot(): string {
  const p = findPackage();
  if (!p)
    throw new Error(
      `cannot find the ${PACKAGE_NAME} package above ${fileURLToPath(import.meta.url)}`,
    );
  return p.root;
}
