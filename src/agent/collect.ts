import type { HaConf } from "../common/ha-conf.js";
import { decodeGlobalBlock, defaultGlobalBlock } from "../storage/whiteboard/global-block.js";
import { decodeHostBlock } from "../storage/whiteboard/host-block-decode.js";
import type { DecodeError, HostBlock, WhiteboardSnapshot } from "../storage/whiteboard/types.js";
import type { Collection } from "./history.js";
import {
  type MonitorStrings,
  monitorBool,
  monitorEngineStatus,
  monitorNumber,
} from "./monitor-values.js";

export interface CollectInput {
  hostId: number;
  /** the whiteboard as decoded from get_stats */
  snapshot: WhiteboardSnapshot;
  monitors: MonitorStrings;
  haConf: Pick<HaConf, "localMaintenance" | "localMaintenanceManual">;
  collectStart: number;
  collectFinish: number;
}

/**
 * One collection from what was read: remote hosts (our own stale segment left out),
 * global maintenance, the too-new flag, monitor values and the local maintenance flags.
 */
export function collectionFrom(input: CollectInput): Collection {
  const hosts = new Map(input.snapshot.hosts);
  hosts.delete(input.hostId);
  const m = input.monitors;
  return {
    collectStart: input.collectStart,
    collectFinish: input.collectFinish,
    hosts,
    globalMaintenance: input.snapshot.global.maintenance,
    tooNew: input.snapshot.tooNew,
    local: {
      engine: monitorEngineStatus(m["engine-health"]),
      network: monitorNumber(m.network),
      bridge: monitorBool(m["mgmt-bridge"]),
      memFreeMb: monitorNumber(m["mem-free"]),
      cpuLoad: monitorNumber(m["cpu-load-no-engine"]),
      storageOk: monitorBool(m["storage-domain"]),
      localMaintenance: input.haConf.localMaintenance || input.haConf.localMaintenanceManual,
    },
  };
}

/**
 * The whiteboard from the broker's get_stats reply (segment id → bytes, 0 = global):
 * every segment decoded on its own, so one bad block never hides the others.
 */
export function snapshotFromStats(stats: ReadonlyMap<number, Buffer>): WhiteboardSnapshot {
  const hosts = new Map<number, HostBlock>();
  const errors: DecodeError[] = [];
  let tooNew = false;
  let global = defaultGlobalBlock();
  let globalWarnings: string[] = [];
  for (const [id, buf] of stats) {
    if (id === 0) {
      if (buf.length > 0 && buf[0] !== 0) {
        const g = decodeGlobalBlock(buf);
        global = g.block;
        globalWarnings = g.warnings;
      }
      continue;
    }
    const r = decodeHostBlock(buf, id);
    if (r === undefined) continue;
    if (r.ok) hosts.set(id, r.block);
    else {
      errors.push(r.error);
      if (r.error.kind === "too-new") tooNew = true;
    }
  }
  return { global, hosts, errors, tooNew, globalWarnings };
}
