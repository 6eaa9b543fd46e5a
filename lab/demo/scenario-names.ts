/** The demo's scenarios by name (kept apart so `he-ha --help` loads nothing heavy). */
export const SCENARIO_NAMES = [
  "startup",
  "failover",
  "global-maintenance",
  "local-maintenance",
  "split-brain",
  "storage-loss",
  "power-off",
  "agent-restart",
  "broker-restart",
  "engine-crash",
  "hung-engine",
] as const;

export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export function isScenarioName(s: string): s is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(s);
}
