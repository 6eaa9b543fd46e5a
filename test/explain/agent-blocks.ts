import { buildContext } from "../../src/agent/fsm/context.js";
import { stateScore } from "../../src/agent/fsm/score.js";
import type { FsmData } from "../../src/agent/fsm/types.js";
import type { Collection, LocalStats } from "../../src/agent/history.js";
import { hostBlockInput } from "../../src/agent/publish.js";
import { type AgentConf, DEFAULT_SCORE_CONFIG } from "../../src/common/agent-conf.js";
import { DEFAULT_TIMING } from "../../src/common/timing.js";
import type { ScoreResult } from "../../src/score/score.js";
import { encodeHostBlock } from "../../src/storage/whiteboard/index.js";
import { localStats } from "../agent/world.js";

export const DEFAULT_CONF: AgentConf = {
  score: { ...DEFAULT_SCORE_CONFIG },
  timing: { ...DEFAULT_TIMING },
};

/** One host as its agent sees itself at one loop: its machine data and its monitors. */
export interface AgentView {
  id: number;
  data: FsmData;
  local?: Partial<LocalStats>;
  /** the agent's effective agent.conf (default: all defaults) */
  conf?: AgentConf;
}

/** A machine data with no timer and no failed start. */
export function idle(state: FsmData["state"]): FsmData {
  return { state, timeoutStart: null, retryCount: 0, retryTime: null };
}

/**
 * The block this agent publishes at monotonic `at`, made by the agent's own publish path
 * (hostBlockInput on the step's context), and the score the agent computed for it.
 */
export function agentBlock(v: AgentView, at: number): { bytes: Buffer; score: ScoreResult } {
  const conf = v.conf ?? DEFAULT_CONF;
  const collection: Collection = {
    collectStart: at,
    collectFinish: at,
    hosts: new Map(),
    globalMaintenance: false,
    tooNew: false,
    local: localStats(v.local),
  };
  const ctx = buildContext(v.id, [collection], {
    scoreConfig: conf.score,
    timing: conf.timing,
    confUpToDate: true,
    vmMemSizeMb: 4096,
  });
  const bytes = encodeHostBlock(
    hostBlockInput({
      hostId: v.id,
      hostname: `host${v.id}.example.com`,
      collection,
      data: v.data,
      ctx,
      confOnSharedStorage: true,
      vmConfRefreshTime: 100,
      timeEpoch: 1_700_000_000,
    }),
  );
  return { bytes, score: stateScore(v.data, ctx) };
}
