import type { ClusterStatus } from "../../src/cli/format/cluster-status.js";
import type { HostBlock } from "../../src/storage/whiteboard/types.js";

/** A decoded host block as the agent of host `hostId` would publish it while the engine runs there. */
export function hostBlock(hostId: number, over: Partial<HostBlock> = {}): HostBlock {
  return {
    parseVersion: 1,
    featureVersion: 1,
    timestamp: 12345,
    hostId,
    score: 3400,
    engineStatusRaw: '{"vm": "up", "health": "good", "detail": "Up"}',
    engineStatus: { vm: "up", health: "good", detail: "Up" },
    hostname: `host${hostId}.example.com`,
    maintenance: false,
    stopped: false,
    crc32: "c768ad70",
    confOnSharedStorage: true,
    vmConfRefreshTime: 12000,
    extra: {
      metadata_parse_version: "1",
      metadata_feature_version: "1",
      timestamp: "12345 (Sat Nov 21 06:00:00 2026)",
      "host-id": String(hostId),
      score: "3400",
      vm_conf_refresh_time: "12000 (Sat Nov 21 05:56:15 2026)",
      conf_on_shared_storage: "True",
      maintenance: "False",
      state: "EngineUp",
      stopped: "False",
    },
    ...over,
  };
}

/** The cluster as `he-ha status` gets it from the broker: blocks sorted by id, `alive` the pushed live ids. */
export function cluster(
  blocks: HostBlock[],
  alive: number[],
  globalMaintenance = false,
): ClusterStatus {
  return {
    globalMaintenance,
    hosts: [...blocks]
      .sort((a, b) => a.hostId - b.hostId)
      .map((block) => ({ block, live: alive.includes(block.hostId) })),
    errors: [],
  };
}
