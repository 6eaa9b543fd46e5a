import type { ObservedDurationsDoc } from "../broker/state/observed-durations.js";
import type { BrokerStatus } from "../broker/status.js";
import type { AgentConf } from "../common/agent-conf.js";

/** What explain needs besides the broker's status document. */
export interface ExplainInput {
  status: BrokerStatus;
  /** this host's effective agent.conf (timing for the timers, score for the next step) */
  conf: AgentConf;
  /** sanlock io_timeout of hosted-engine.conf */
  ioTimeout: number;
  /** ha.conf local maintenance (either flag) */
  localMaintenance: boolean;
  /** the engine VM's memSize in MB, null when unknown */
  vmMemSizeMb: number | null;
  /** how long the engine's start and stop took when this broker last saw them */
  observed?: ObservedDurationsDoc;
}
