import { type RunOptions, SimCluster, type SimResult } from "./cluster.js";
import { loadScenario, type Scenario } from "./scenario.js";
import { formatTimeline } from "./timeline.js";

export type { InvariantViolation, RunOptions, SimResult } from "./cluster.js";
export { loadScenario, parseCommands, type Scenario, ScenarioError } from "./scenario.js";
export { formatState, parseState } from "./state.js";
export { formatEntry, formatTimeline, type TimelineEntry } from "./timeline.js";

export interface ScenarioRun extends SimResult {
  scenario: Scenario;
  /** the timeline as log.expect holds it */
  log: string;
}

/**
 * Runs a scenario (a folder or an already loaded one) in the simulator. The same
 * scenario and seed give the same log, always; without a seed, events due at the same
 * instant run in the scenario's order. The fault campaign reads `violations`.
 */
export async function runScenario(
  scenario: string | Scenario,
  opts: RunOptions = {},
): Promise<ScenarioRun> {
  const s = typeof scenario === "string" ? await loadScenario(scenario) : scenario;
  const result = await new SimCluster(s, opts).run();
  return { ...result, scenario: s, log: formatTimeline(result.entries) };
}
