import { agentConfDigests } from "../common/agent-conf.js";
import { formatBool } from "../common/keyvalue.js";
import { pythonCtime } from "../storage/whiteboard/ctime.js";
import { factLines } from "../storage/whiteboard/published-facts.js";
import type { HostBlockInput } from "../storage/whiteboard/types.js";
import { UNKNOWN_ENGINE } from "./engine-rank.js";
import { stateMetadata } from "./fsm/metadata.js";
import { stateScore } from "./fsm/score.js";
import { runningTimers } from "./fsm/timers.js";
import type { FsmContext, FsmData } from "./fsm/types.js";
import type { Collection } from "./history.js";

export interface PublishInput {
  hostId: number;
  hostname: string;
  collection: Collection;
  data: FsmData;
  /** the step's context: the score, its penalties and the timers are computed from it */
  ctx: FsmContext;
  confOnSharedStorage: boolean;
  /** monotonic seconds of the last good vm.conf refresh */
  vmConfRefreshTime: number;
  /** wall-clock minus monotonic seconds, for the human-readable dates */
  timeEpoch: number;
}

/**
 * The block this host publishes for a state (behaviour.md §3): what the codec encodes.
 * The score is computed here from the state and the step's context, with its penalty
 * breakdown, the running timers and the configuration digests beside it in the extra
 * lines (published-facts.ts), so the published score and its explanation never disagree.
 */
export function hostBlockInput(p: PublishInput): HostBlockInput {
  const timing = p.ctx.timing;
  const md = stateMetadata(p.data, timing);
  const scored = stateScore(p.data, p.ctx);
  const digests = agentConfDigests({ score: p.ctx.scoreConfig, timing });
  const stateExtra: Record<string, string> = {
    maintenance: formatBool(md.maintenance),
    state: md.state,
    stopped: formatBool(md.stopped),
    ...factLines({
      penalties: scored.penalties,
      timers: runningTimers(p.data, timing, p.collection.collectFinish),
      scoreDigest: digests.score,
      timingDigest: digests.timing,
    }),
  };
  if (md.timeoutAt !== null) stateExtra.timeout = pythonCtime(md.timeoutAt + p.timeEpoch);
  return {
    timestamp: Math.trunc(p.collection.collectStart),
    hostId: p.hostId,
    score: Math.trunc(scored.score),
    engineStatus: p.collection.local.engine ?? UNKNOWN_ENGINE,
    hostname: p.hostname,
    maintenance: md.maintenance,
    stopped: md.stopped,
    confOnSharedStorage: p.confOnSharedStorage,
    vmConfRefreshTime: Math.trunc(p.vmConfRefreshTime),
    stateExtra,
    timeEpoch: p.timeEpoch,
    vmConfRefreshTimeEpoch: p.timeEpoch,
  };
}
