import type { ScoreConfig } from "../common/agent-conf.js";
import type { StateName } from "../common/state-names.js";
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
  /** the state the score is published in */
  state: StateName;
}

export interface Penalty {
  name: string;
  amount: number;
  reason: string;
}

export interface ScoreResult {
  score: number;
  penalties: Penalty[];
  /** why the score is forced to 0, when it is */
  zeroReason?: string;
}

export type ScoreTiming = Pick<Timing, "engine_retry_expiration" | "engine_retry_max_attempts">;

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

function zero(reason: string): ScoreResult {
  return { score: 0, penalties: [], zeroReason: reason };
}

/**
 * The host score of behaviour.md §4: base score minus penalties, forced to 0 in local
 * maintenance, when stopped, in ReinitializeFSM, in EngineUnexpectedlyDown (the state
 * machine holds that state for vm_unexpected_shutdown_expiration) and after too many
 * failed start attempts; never negative.
 */
export function computeScore(
  input: ScoreInput,
  config: ScoreConfig,
  timing: ScoreTiming = DEFAULT_TIMING,
): ScoreResult {
  if (input.state === "AgentStopped") return zero("agent stopped");
  if (input.localMaintenance || input.state === "LocalMaintenance") {
    return zero("local maintenance");
  }
  if (input.state === "ReinitializeFSM") return zero("state ReinitializeFSM");
  if (input.state === "EngineUnexpectedlyDown") return zero("engine VM unexpectedly down");
  const retries = effectiveRetryCount(
    input.retryCount,
    input.lastRetryAt,
    input.now,
    timing.engine_retry_expiration,
  );
  if (retries > timing.engine_retry_max_attempts) {
    return zero(`${retries} failed engine VM start attempts`);
  }

  const penalties: Penalty[] = [];
  const add = (name: string, amount: number, reason: string) => {
    if (amount > 0) penalties.push({ name, amount, reason });
  };

  if (!input.confUpToDate) {
    add(
      "not-uptodate-config",
      config["not-uptodate-config-penalty"],
      "configuration not yet from shared storage",
    );
  }
  const network = input.networkRatio ?? 1;
  if (network < 1) {
    add(
      "network",
      Math.trunc((1 - network) * config["network-score-penalty"]),
      `network status ${network}`,
    );
  }
  if (input.bridgeUp !== true) {
    add("mgmt-bridge", config["mgmt-bridge-score-penalty"], "management bridge down");
  }
  const load = loadFactor(input.cpuLoadHistory);
  add("cpu-load", cpuLoadPenalty(load, config), `cpu load ${load.toFixed(4)}`);
  if (!input.engineRunsHere && !input.globalMaintenance && input.vmMemSizeMb !== null) {
    const free = input.freeMemoryMb ?? 0;
    if (free < input.vmMemSizeMb) {
      add(
        "free-memory",
        config["free-memory-score-penalty"],
        `free memory ${free} MB below required ${input.vmMemSizeMb} MB`,
      );
    }
  }
  if (retries > 0) {
    add(
      "engine-retry",
      config["engine-retry-score-penalty"] * retries,
      `${retries} failed engine VM start attempts`,
    );
  }
  let score = config["base-score"];
  for (const p of penalties) score -= p.amount;
  return { score: Math.max(0, score), penalties };
}
