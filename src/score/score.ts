import type { ScoreConfig } from "../common/agent-conf.js";
import { DEFAULT_TIMING, type Timing } from "../common/timing.js";
import { type LoadSample, loadFactor } from "./load-factor.js";

/** Everything the score of behaviour.md §4 depends on, as plain data. */
export interface ScoreInput {
  /** monotonic seconds of the decision */
  now: number;
  /** hosted-engine.conf comes from shared storage (configuration archive) */
  confUpToDate: boolean;
  /** network monitor value 0..1; null (no value yet) counts as 1 */
  networkRatio: number | null;
  /** management bridge up; null (no value yet) counts as down */
  bridgeUp: boolean | null;
  /** CPU load (without the engine VM) over the collection history */
  cpuLoadHistory: readonly LoadSample[];
  /** free memory in MB; null (no value yet) counts as 0 */
  freeMemoryMb: number | null;
  /** the engine VM's memSize in MB; null (no vm.conf) means no memory requirement */
  vmMemSizeMb: number | null;
  /** the engine VM runs on this host (its memory is already taken) */
  engineRunsHere: boolean;
  globalMaintenance: boolean;
  /** failed start attempts since the retry status was last cleared */
  retryCount: number;
  /** monotonic seconds of the last start attempt, null if none */
  lastRetryAt: number | null;
  localMaintenance: boolean;
  /** the agent is stopped (AgentStopped) */
  stopped: boolean;
  /** the agent's state class name */
  state: string;
  /** monotonic seconds when the engine VM died unexpectedly on this host, null if not */
  unexpectedShutdownAt: number | null;
}

/** A monitor value or a threshold as published: a number, a flag, or nothing yet (null). */
export type PenaltyValue = number | boolean | string | null;

/**
 * One named deduction from the base score. `points` is what it takes off; `value` is the
 * monitor value (or count) that caused it, `threshold` the limit it is measured against,
 * `key` the agent.conf key that sets the points (`[score]`) or the limit (`[timing]`).
 */
export interface Penalty {
  name: PenaltyName;
  points: number;
  value: PenaltyValue;
  threshold: PenaltyValue;
  key: string;
  reason: string;
}

/**
 * Every penalty name (the `reason` label of ovirt_ha_score_penalty) and the agent.conf key
 * that sets it. The last five force the score to 0: their points are the base score.
 */
export const PENALTY_KEYS = {
  "not-uptodate-config": "not-uptodate-config-penalty",
  network: "network-score-penalty",
  "mgmt-bridge": "mgmt-bridge-score-penalty",
  "cpu-load": "cpu-load-score-penalty",
  "free-memory": "free-memory-score-penalty",
  "engine-retry": "engine-retry-score-penalty",
  "agent-stopped": "base-score",
  "local-maintenance": "base-score",
  reinitializing: "base-score",
  "engine-unexpectedly-down": "vm_unexpected_shutdown_expiration",
  "start-failures": "engine_retry_max_attempts",
} as const;

export type PenaltyName = keyof typeof PENALTY_KEYS;

export interface ScoreResult {
  /** base score minus the penalties' points, never below 0 */
  score: number;
  /** base-score of agent.conf, what the penalties are taken from */
  base: number;
  penalties: Penalty[];
  /** why the score is forced to 0, when it is */
  zeroReason?: string;
}

export type ScoreTiming = Pick<
  Timing,
  "engine_retry_expiration" | "engine_retry_max_attempts" | "vm_unexpected_shutdown_expiration"
>;

/** The retry count that still counts at `now`: cleared once the expiry has passed. */
export function effectiveRetryCount(
  retryCount: number,
  lastRetryAt: number | null,
  now: number,
  expiration: number,
): number {
  if (lastRetryAt !== null && now - lastRetryAt >= expiration) return 0;
  return retryCount;
}

/** The cpu-load penalty for an average load: linear between min and max, a step when equal. */
export function cpuLoadPenalty(load: number, config: ScoreConfig): number {
  const full = config["cpu-load-score-penalty"];
  const min = config["cpu-load-penalty-min"];
  const max = config["cpu-load-penalty-max"];
  if (max === min) return load < min ? 0 : full;
  const linear = Math.trunc(((load - min) / (max - min)) * full);
  return Math.max(0, Math.min(full, linear));
}

function penalty(
  name: PenaltyName,
  points: number,
  value: PenaltyValue,
  threshold: PenaltyValue,
  reason: string,
): Penalty {
  return { name, points, value, threshold, key: PENALTY_KEYS[name], reason };
}

/** A score forced to 0: one penalty of the whole base score, named for the cause. */
function zero(base: number, p: Omit<Penalty, "points" | "key">): ScoreResult {
  return {
    score: 0,
    base,
    penalties: [penalty(p.name, base, p.value, p.threshold, p.reason)],
    zeroReason: p.reason,
  };
}

/**
 * The host score of behaviour.md §4: base score minus penalties, forced to 0 in local
 * maintenance, when stopped, in ReinitializeFSM, after an unexpected VM shutdown and
 * after too many failed start attempts; never negative.
 */
export function computeScore(
  input: ScoreInput,
  config: ScoreConfig,
  timing: ScoreTiming = DEFAULT_TIMING,
): ScoreResult {
  const base = config["base-score"];
  if (input.stopped || input.state === "AgentStopped") {
    return zero(base, {
      name: "agent-stopped",
      value: input.state,
      threshold: null,
      reason: "agent stopped",
    });
  }
  if (input.localMaintenance || input.state === "LocalMaintenance") {
    return zero(base, {
      name: "local-maintenance",
      value: true,
      threshold: false,
      reason: "local maintenance",
    });
  }
  if (input.state === "ReinitializeFSM") {
    return zero(base, {
      name: "reinitializing",
      value: input.state,
      threshold: null,
      reason: "state ReinitializeFSM",
    });
  }
  const sinceDown =
    input.unexpectedShutdownAt === null ? null : input.now - input.unexpectedShutdownAt;
  if (
    input.state === "EngineUnexpectedlyDown" ||
    (sinceDown !== null && sinceDown < timing.vm_unexpected_shutdown_expiration)
  ) {
    return zero(base, {
      name: "engine-unexpectedly-down",
      value: sinceDown ?? input.state,
      threshold: timing.vm_unexpected_shutdown_expiration,
      reason: "engine VM unexpectedly down",
    });
  }
  const retries = effectiveRetryCount(
    input.retryCount,
    input.lastRetryAt,
    input.now,
    timing.engine_retry_expiration,
  );
  if (retries > timing.engine_retry_max_attempts) {
    return zero(base, {
      name: "start-failures",
      value: retries,
      threshold: timing.engine_retry_max_attempts,
      reason: `${retries} failed engine VM start attempts`,
    });
  }

  const penalties: Penalty[] = [];
  const add = (p: Penalty) => {
    if (p.points > 0) penalties.push(p);
  };

  if (!input.confUpToDate) {
    add(
      penalty(
        "not-uptodate-config",
        config["not-uptodate-config-penalty"],
        false,
        true,
        "configuration not yet from shared storage",
      ),
    );
  }
  const network = input.networkRatio ?? 1;
  if (network < 1) {
    add(
      penalty(
        "network",
        Math.trunc((1 - network) * config["network-score-penalty"]),
        network,
        1,
        `network status ${network}`,
      ),
    );
  }
  if (input.bridgeUp !== true) {
    add(
      penalty(
        "mgmt-bridge",
        config["mgmt-bridge-score-penalty"],
        input.bridgeUp,
        true,
        "management bridge down",
      ),
    );
  }
  const load = loadFactor(input.cpuLoadHistory);
  add(
    penalty(
      "cpu-load",
      cpuLoadPenalty(load, config),
      Number(load.toFixed(4)),
      config["cpu-load-penalty-min"],
      `cpu load ${load.toFixed(4)}`,
    ),
  );
  if (!input.engineRunsHere && !input.globalMaintenance && input.vmMemSizeMb !== null) {
    const free = input.freeMemoryMb ?? 0;
    if (free < input.vmMemSizeMb) {
      add(
        penalty(
          "free-memory",
          config["free-memory-score-penalty"],
          free,
          input.vmMemSizeMb,
          `free memory ${free} MB below required ${input.vmMemSizeMb} MB`,
        ),
      );
    }
  }
  if (retries > 0) {
    add(
      penalty(
        "engine-retry",
        config["engine-retry-score-penalty"] * retries,
        retries,
        0,
        `${retries} failed engine VM start attempts`,
      ),
    );
  }
  let score = base;
  for (const p of penalties) score -= p.points;
  return { score: Math.max(0, score), base, penalties };
}
