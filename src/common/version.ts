import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_NAME = "hosted-engine-ha";

let cached: string | undefined;

/**
 * The version of the hosted-engine-ha package, read once from its package.json (found by
 * walking up from this module: it sits two levels up in src/, three in dist/src/).
 * Read synchronously: it is called at process start-up, before any event-loop work.
 */
export function packageVersion(): string {
  if (cached !== undefined) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, "package.json");
    try {
      const pkg = JSON.parse(readFileSync(candidate, "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === "string") {
        cached = pkg.version;
        return cached;
      }
    } catch {
      // no package.json at this level (or unreadable): keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  cached = "unknown";
  return cached;
}

/** `ovirt-ha-agent 0.1.0 (hosted-engine-ha)`: what every executable prints for --version. */
export function versionLine(program: string): string {
  return `${program} ${packageVersion()} (${PACKAGE_NAME})`;
}
