import type { AgentConf } from "../common/agent-conf.js";
import type { ExplainDoc } from "../explain/explain.js";
import type { Scenario } from "../simulator/scenario.js";
import type { TimelineEntry } from "../simulator/timeline.js";

/**
 * `he-ha simulate --from-live`: the live cluster as a simulator scenario (pure). The
 * live facts become the scenario's input: the whiteboard segments as its `state`, one
 * simulated host per live host id up to the highest alive one, each host's monitor
 * values from the penalties it published, maintenance flags, and this host's agent.conf
 * and io_timeout. The simulator (src/simulator) is used as it is.
 */

export type WhatIf =
  | { kind: "kill" | "storage-loss" | "gateway-down"; host: number }
  | { kind: "maintenance"; mode: "local" | "global"; host: number };

export interface LiveSeed {
  explain: ExplainDoc;
  conf: AgentConf;
  ioTimeout: number;
  /** the whiteboard as this broker's get_stats answers it */
  segments: Map<number, Buffer>;
}

/** cluster.conf of the live cluster: hosts, io_timeout, score and timing, monitors. */
export function liveClusterConfig(seed: LiveSeed, duration: number): Map<string, string> {
  const alive = seed.explain.hosts.filter((h) => h.alive).map((h) => h.host_id);
  const conf = new Map<string, string>([
    ["hosts", String(Math.max(1, ...alive))],
    ["duration", String(Math.ceil(duration))],
    ["io_timeout", String(seed.ioTimeout)],
  ]);
  for (const [k, v] of Object.entries(seed.conf.score)) conf.set(`score.${k}`, String(v));
  for (const [k, v] of Object.entries(seed.conf.timing)) conf.set(`timing.${k}`, String(v));
  if (seed.explain.global_maintenance) conf.set("global_maintenance", "true");
  for (const h of seed.explain.hosts) {
    if (!alive.includes(h.host_id)) continue;
    for (const p of h.penalties) {
      if (p.name === "network" && typeof p.value === "number")
        conf.set(`host${h.host_id}.network`, String(p.value));
      if (p.name === "mgmt-bridge") conf.set(`host${h.host_id}.bridge`, "down");
      if (p.name === "cpu-load" && typeof p.value === "number")
        conf.set(`host${h.host_id}.cpu`, String(p.value));
      if (p.name === "free-memory" && typeof p.value === "number")
        conf.set(`host${h.host_id}.memory`, String(p.value));
      if (p.name === "local-maintenance") conf.set(`host${h.host_id}.local_maintenance`, "true");
    }
  }
  return conf;
}

/** The scenario command words of a what-if. */
export function whatIfWords(w: WhatIf): string[] {
  const host = `host${w.host}`;
  switch (w.kind) {
    case "kill":
      return ["kill", host];
    case "storage-loss":
      return ["cut-storage", host];
    case "gateway-down":
      return ["set", host, "network", "0"];
    case "maintenance":
      return w.mode === "global" ? ["global-maintenance", "on"] : ["local-maintenance", host, "on"];
  }
}

/** The scenario: the live seed, and the what-if at `eventAt` (none: a settling run). */
export function liveScenario(
  seed: LiveSeed,
  duration: number,
  what: { w: WhatIf; at: number } | null,
): Scenario {
  return {
    name: "from-live",
    dir: ".",
    description: "the live cluster, seeded from this host's broker",
    config: liveClusterConfig(seed, duration),
    commands: what ? [{ t: what.at, words: whatIfWords(what.w), line: 1 }] : [],
    expect: null,
    state: seed.segments,
  };
}

const STARTED = "start-vm: engine VM started";
const UP = /-> EngineUp\b/;

/** Where and when the engine came up with good health last before `before`. */
export function engineUpBefore(
  entries: readonly TimelineEntry[],
  before: number,
): { host: string; at: number } | null {
  let found: { host: string; at: number } | null = null;
  for (const e of entries) {
    if (e.t > before) break;
    if (e.who && UP.test(e.text)) found = { host: e.who, at: e.t };
  }
  return found;
}

export interface Prediction {
  event: string;
  event_at: number;
  /** the host running the engine when the event happened (in the simulation) */
  engine_host: string | null;
  /** when its engine VM stopped (killed, shut down, or the host lost) */
  engine_down_at: number | null;
  started_on: string | null;
  started_at: number | null;
  up_at: number | null;
  /** from the event to the engine up with good health on a host; null: not within the run */
  engine_up_seconds: number | null;
}

/** The predicted timeline after the event, read from the simulated run's entries. */
export function predict(entries: readonly TimelineEntry[], w: WhatIf, eventAt: number): Prediction {
  const before = engineUpBefore(entries, eventAt - 1e-9);
  const after = entries.filter((e) => e.t >= eventAt);
  const engineHost = before?.host ?? null;
  const down = after.find(
    (e) =>
      e.who === engineHost &&
      (/^vm: (stopped|destroyed|shut down|killed)|powered off|agent: killed|host: powered off/.test(
        e.text,
      ) ||
        /EngineUp -> (EngineStop|EngineForceStop|EngineDown|EngineMaybeAway|LocalMaintenance)/.test(
          e.text,
        )),
  );
  const started = after.find((e) => e.who && e.text === STARTED);
  const up = started
    ? after.find((e) => e.who === started.who && e.t >= started.t && UP.test(e.text))
    : undefined;
  return {
    event: whatIfWords(w).join(" "),
    event_at: eventAt,
    engine_host: engineHost,
    engine_down_at: down?.t ?? null,
    started_on: started?.who ?? null,
    started_at: started?.t ?? null,
    up_at: up?.t ?? null,
    engine_up_seconds: up ? up.t - eventAt : null,
  };
}
