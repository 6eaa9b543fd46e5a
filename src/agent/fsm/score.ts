import { computeScore, type ScoreResult } from "../../score/score.js";
import type { FsmContext, FsmData } from "./types.js";

/** The score this host publishes in `data.state` given the step's context (behaviour.md §4). */
export function stateScore(data: FsmData, ctx: FsmContext): ScoreResult {
  const current = ctx.history[0]!;
  const engineRunsHere =
    data.state === "EngineUp" ||
    data.state === "EngineUpBadHealth" ||
    current.local.engine?.vm === "up";
  return computeScore(
    {
      now: current.collectFinish,
      confUpToDate: ctx.confUpToDate,
      networkRatio: current.local.network,
      bridgeUp: current.local.bridge,
      cpuLoadHistory: ctx.history.map((c) => ({ at: c.collectStart, load: c.local.cpuLoad })),
      freeMemoryMb: current.local.memFreeMb,
      vmMemSizeMb: ctx.vmMemSizeMb,
      engineRunsHere,
      globalMaintenance: current.globalMaintenance || data.state === "GlobalMaintenance",
      retryCount: data.retryCount,
      lastRetryAt: data.retryTime,
      // §4: score 0 in local maintenance. The flag counts as soon as it is set, not only
      // once in LocalMaintenance: an engine running here then sees every healthy remote
      // host ≥ 800 above it and stops (EngineUp → EngineStop), so setting local
      // maintenance on the engine's host moves the engine, as an administrator expects
      // (the original's EngineUp has no local-maintenance guard and relied on the engine
      // migrating itself away first).
      localMaintenance: data.state === "LocalMaintenance" || current.local.localMaintenance,
      state: data.state,
    },
    ctx.scoreConfig,
    ctx.timing,
  );
}
