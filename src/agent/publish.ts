import { formatBool } from "../common/keyvalue.js";
import type { Timing } from "../common/timing.js";
import { pythonCtime } from "../storage/whiteboard/ctime.js";
import type { HostBlockInput } from "../storage/whiteboard/types.js";
import { UNKNOWN_ENGINE } from "./engine-rank.js";
import { stateMetadata } from "./fsm/metadata.js";
import type { FsmData } from "./fsm/types.js";
import type { Collection } from "./history.js";

export interface PublishInput {
  hostId: number;
  hostname: string;
  collection: Collection;
  data: FsmData;
  score: number;
  timing: Timing;
  confOnSharedStorage: boolean;
  /** monotonic seconds of the last good vm.conf refresh */
  vmConfRefreshTime: number;
  /** wall-clock minus monotonic seconds, for the human-readable dates */
  timeEpoch: number;
}

/** The block this host publishes for a state (behaviour.md §3): what the codec encodes. */
export function hostBlockInput(p: PublishInput): HostBlockInput {
  const md = stateMetadata(p.data, p.timing);
  const stateExtra: Record<string, string> = {
    maintenance: formatBool(md.maintenance),
    state: md.state,
    stopped: formatBool(md.stopped),
  };
  if (md.timeoutAt !== null) stateExtra.timeout = pythonCtime(md.timeoutAt + p.timeEpoch);
  return {
    timestamp: Math.trunc(p.collection.collectStart),
    hostId: p.hostId,
    score: Math.trunc(p.score),
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
