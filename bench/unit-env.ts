import { readFile } from "node:fs/promises";
import path from "node:path";
import { LOG_DIR_ENV } from "../src/common/log-file.js";
import { packageRoot } from "../src/common/package-root.js";

/**
 * The `Environment=KEY=value` settings of `systemd/<unit>.service` (NODE_OPTIONS,
 * MALLOC_ARENA_MAX): the benchmarks start each daemon with exactly what its unit sets.
 */
export async function unitEnvironment(
  unit: "ovirt-ha-broker" | "ovirt-ha-agent",
): Promise<Record<string, string>> {
  const text = await readFile(path.join(packageRoot(), "systemd", `${unit}.service`), "utf8");
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^Environment="?([A-Za-z_][A-Za-z0-9_]*)=([^"\n]*)"?$/gm)) {
    env[m[1]!] = m[2]!.trim();
  }
  return env;
}

/** `KEY=value KEY=value`, for a benchmark's note. */
export function envNote(env: Record<string, string>): string {
  const s = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return s.length === 0 ? "without the unit's Environment=" : s.join(" ");
}

/**
 * A unit's environment for one simulated host: its log files (HE_HA_LOG_DIR, which the
 * units point at /var/log/ovirt-hosted-engine-ha) go under that host's own `logDir`, so
 * the hosts of a demo cluster do not share one agent.log, and a benchmark writes nothing
 * to this machine's /var/log.
 */
export function forHost(env: Record<string, string>, logDir: string): Record<string, string> {
  if (!env[LOG_DIR_ENV]) return env;
  return { ...env, [LOG_DIR_ENV]: path.join(logDir, "unit-logs") };
}
