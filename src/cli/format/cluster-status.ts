import type {
  DecodeError,
  EngineStatus,
  HostBlock,
  WhiteboardSnapshot,
} from "../../storage/whiteboard/types.js";

/**
 * What `he-ha status` shows, as data: every decoded host block with the broker's verdict
 * on whether its data is live, plus the global maintenance flag.
 *
 * "live" (hosted-engine's `live-data`, printed as "Status up-to-date") mirrors the
 * original client: a host is live when its id is in the broker's `is_host_alive()` list,
 * i.e. the list of live hosts the local agent pushed within the last 60 s (the agent
 * judges liveness by timestamp changes on its own monotonic clock, behaviour.md §3).
 * With no agent running on this host the list is empty and every host is stale.
 */
export interface HostStatus {
  block: HostBlock;
  live: boolean;
}

export interface ClusterStatus {
  globalMaintenance: boolean;
  /** sorted by host id */
  hosts: HostStatus[];
  /** segments that did not decode; shown on stderr, never in the status itself */
  errors: DecodeError[];
}

export function clusterStatus(
  snapshot: WhiteboardSnapshot,
  aliveHostIds: Iterable<number>,
): ClusterStatus {
  const alive = new Set(aliveHostIds);
  const hosts = [...snapshot.hosts.values()]
    .sort((a, b) => a.hostId - b.hostId)
    .map((block) => ({ block, live: alive.has(block.hostId) }));
  return {
    globalMaintenance: snapshot.global.maintenance,
    hosts,
    errors: [...snapshot.errors].sort((a, b) => a.hostId - b.hostId),
  };
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
