/**
 * Every broker monitor (behaviour.md §7), by its wire name: the one home of these words.
 * Each row says whether the agent starts it, how the agent reads its `status_monitor`
 * string, what it does to the score or the decisions, and what the simulator runs for it.
 *
 * Adding a monitor: add its row here; the compiler then points at every place that needs
 * it, because each is a record over these names: the broker's factory (switch over
 * MonitorType in src/broker/monitors/registry.ts), the agent's start options
 * (MONITOR_OPTIONS in src/agent/broker-link.ts), its decoder and local field
 * (src/agent/monitor-values.ts, LOCAL_FIELD), and the simulator's scenario value
 * (SCENARIO_VALUE in src/simulator/broker-env.ts). The score's use of the local field is
 * in src/score/score.ts.
 */
export const MONITOR_TABLE = {
  network: {
    agent: true,
    value: "number",
    effect: "score: network-score-penalty × (1 − ratio)",
    sim: "scenario",
  },
  "mgmt-bridge": {
    agent: true,
    value: "bool",
    effect: "score: mgmt-bridge-score-penalty while down (or no value)",
    sim: "scenario",
  },
  "mem-free": {
    agent: true,
    value: "number",
    effect: "score: free-memory-score-penalty below the engine VM's memSize",
    sim: "scenario",
  },
  "cpu-load": {
    agent: false,
    value: "number",
    effect: "none (the original's; the agent reads cpu-load-no-engine)",
    sim: "scenario",
  },
  "cpu-load-no-engine": {
    agent: true,
    value: "number",
    effect: "score: cpu-load-score-penalty over the collection history's load",
    sim: "scenario",
  },
  "engine-health": {
    agent: true,
    value: "engine-status",
    effect: "state machine: the local engine VM's state and health",
    sim: "real",
  },
  "storage-domain": {
    agent: true,
    value: "bool",
    effect: "decisions: none while the storage domain is unusable",
    sim: "scenario",
  },
} as const satisfies Record<string, MonitorRow>;

export interface MonitorRow {
  /** the agent starts it and reads it every loop */
  agent: boolean;
  /** how its `status_monitor` string reads: a float, Python's bool, the engine-health JSON */
  value: "number" | "bool" | "engine-status";
  /** what it does (behaviour.md §4, §6) */
  effect: string;
  /** in the simulator: the real monitor (its probe over simulated parts), or the value the scenario sets */
  sim: "real" | "scenario";
}

export type MonitorType = keyof typeof MONITOR_TABLE;

export const MONITOR_TYPES = Object.keys(MONITOR_TABLE) as readonly MonitorType[];

export function isMonitorType(t: string): t is MonitorType {
  return Object.hasOwn(MONITOR_TABLE, t);
}

/** The monitors the agent starts. */
export type AgentMonitor = {
  [K in MonitorType]: (typeof MONITOR_TABLE)[K]["agent"] extends true ? K : never;
}[MonitorType];

export const AGENT_MONITORS = MONITOR_TYPES.filter(
  (t): t is AgentMonitor => MONITOR_TABLE[t].agent,
) as readonly AgentMonitor[];

/** The monitors the simulator answers with the scenario's value. */
export type ScenarioMonitor = {
  [K in MonitorType]: (typeof MONITOR_TABLE)[K]["sim"] extends "scenario" ? K : never;
}[MonitorType];
