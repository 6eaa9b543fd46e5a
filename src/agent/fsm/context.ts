import type { ScoreConfig } from "../../common/agent-conf.js";
import type { Timing } from "../../common/timing.js";
import type { Collection } from "../history.js";
import { aliveHostIds } from "../liveness.js";
import { bestEngine, bestRemoteScore } from "../selection.js";
import type { FsmContext } from "./types.js";

export interface ContextOptions {
  scoreConfig: ScoreConfig;
  timing: Timing;
  confUpToDate: boolean;
  vmMemSizeMb: number | null;
}

/** Precomputes alive hosts, the best engine and the best remote score for one step. */
export function buildContext(
  hostId: number,
  history: readonly Collection[],
  opts: ContextOptions,
): FsmContext {
  const current = history[0];
  if (!current) throw new RangeError("buildContext: the history holds no collection");
  const alive = aliveHostIds(history, opts.timing.host_alive_timeout);
  return {
    hostId,
    history,
    alive,
    bestEngine: bestEngine(hostId, current, alive),
    bestScoreHost: bestRemoteScore(current, alive),
    ...opts,
  };
}
