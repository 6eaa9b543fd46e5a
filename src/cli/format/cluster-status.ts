import type { DecodeError, EngineStatus, HostBlock } from "../../storage/whiteboard/types.js";

/**
 * What `he-ha status` shows, as data: every decoded host block with the broker's verdict
 * on whether its data is live, plus the global maintenance flag.
 *
 * "live" (hosted-engine's `live-data`, printed as "Status up-to-date") mirrors the
 * original client: a host is live when its id is in the broker's `is_host_alive()` list
 * (the `alive` flag of GET /v1/status), i.e. the live hosts the local agent pushed
 * within the last 60 s. The agent judges liveness by timestamp changes over its own
 * monotonic clock (behaviour.md §3), never by comparing clocks of two hosts. With no
 * agent running on this host the list is empty and every host shows stale.
 */
export interface HostStatus {
  block: HostBlock;
  live: boolean;
  /**
   * seconds since the local broker saw this host's block change; null = not since the
   * broker started; absent when the source does not say (e.g. a whiteboard dump)
   */
  updatedAgo?: number | null;
}

export interface ClusterStatus {
  globalMaintenance: boolean;
  /** sorted by host id */
  hosts: HostStatus[];
  /** segments that did not decode; shown on stderr, never in the status itself */
  errors: DecodeError[];
}

/** The extra part of a block as the text lines it was written as (`key=value`). */
export function extraLines(block: HostBlock): string[] {
  return Object.entries(block.extra).map(([k, v]) => `${k}=${v}`);
}

/**
 * Field 6 parsed; a block whose engine status JSON does not parse still shows, with
 * `vm: unknown` and the raw text as detail.
 */
export function engineStatusOf(block: HostBlock): EngineStatus {
  return (
    block.engineStatus ?? {
      vm: "unknown",
      health: "bad",
      detail: `unparsable engine status: ${block.engineStatusRaw}`,
    }
  );
}
