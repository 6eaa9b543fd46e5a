import { readFileSync } from "node:fs";
import path from "node:path";
import { findPackage } from "./package-root.js";

/** What `ovirt_ha_build_info` and `--version` report about this build. */
export interface BuildInfo {
  version: string;
  /** the git commit the package was built from; "unknown" when nobody recorded it */
  commit: string;
  implementation: "typescript";
}

/** The file `scripts/build-info.mjs` writes at build time, relative to the package root. */
export const BUILD_INFO_FILE = "dist/build-info.json";

/**
 * This build's version (package.json) and commit (dist/build-info.json, written by
 * `npm run build` from `git rev-parse HEAD`, and by the RPM build). Read synchronously
 * once at start-up; an absent or unreadable file gives commit "unknown".
 */
export function buildInfo(): BuildInfo {
  const pkg = findPackage();
  let commit = "unknown";
  if (pkg) {
    try {
      const raw = JSON.parse(readFileSync(path.join(pkg.root, BUILD_INFO_FILE), "utf8")) as {
        commit?: unknown;
      };
      if (typeof raw.commit === "string" && /^[0-9a-f]{7,40}$/.test(raw.commit))
        commit = raw.commit;
    } catch {
      // not built by `npm run build` (e.g. run from sources): the commit is unknown
    }
  }
  return { version: pkg?.version ?? "unknown", commit, implementation: "typescript" };
}
