import type { Timing } from "../../common/timing.js";
import { STATE_SPECS, type StateName } from "./states.js";
import type { FsmData } from "./types.js";

/** The state's own keys of the published block (behaviour.md §3, extra lines). */
export interface StateMetadata {
  state: StateName;
  maintenance: boolean;
  stopped: boolean;
  /** monotonic seconds when the running state timer expires; published as `timeout` */
  timeoutAt: number | null;
}

export function stateMetadata(data: FsmData, timing: Timing): StateMetadata {
  const spec = STATE_SPECS[data.state];
  const timeoutAt =
    spec.publishTimeout && spec.timeout && data.timeoutStart !== null
      ? data.timeoutStart + spec.timeout.seconds(timing)
      : null;
  return {
    state: data.state,
    maintenance: data.state === "LocalMaintenance",
    stopped: data.state === "AgentStopped",
    timeoutAt,
  };
}
