// Writes dist/build-info.json ({ commit }) for the ovirt_ha_build_info metric.
// The commit comes from HE_HA_BUILD_COMMIT (the RPM build passes it), else from
// `git rev-parse HEAD` in this checkout, else it is left out ("unknown" at run time).
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
let commit = process.env.HE_HA_BUILD_COMMIT ?? "";
if (!commit) {
  try {
    commit = execFileSync("git", ["-C", root, "rev-parse", "HEAD"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    commit = "";
  }
}
mkdirSync(path.join(root, "dist"), { recursive: true });
const info = /^[0-9a-f]{7,40}$/.test(commit) ? { commit } : {};
writeFileSync(path.join(root, "dist", "build-info.json"), `${JSON.stringify(info)}\n`);
