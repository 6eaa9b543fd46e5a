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
      localMaintenance: data.state === "LocalMaintenance",
      stopped: data.state === "AgentStopped",
      state: data.state,
      unexpectedShutdownAt: null,
    },
    ctx.scoreConfig,
    ctx.timing,
  );
}
