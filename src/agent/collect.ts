import type { HaConf } from "../common/ha-conf.js";
import type { EngineStatus, WhiteboardSnapshot } from "../storage/whiteboard/types.js";
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
  /** libvirt's own answer: the engine VM is active on this host (null: cannot tell) */
  vmActiveHere?: boolean | null;
}

/**
 * The local engine status, reconciled with the hypervisor: the engine-health monitor
 * samples periodically, so right after a start it may still say "down". A VM that
 * libvirt reports active here is never "down" — it counts as up, health not yet known
 * (bad), so a fresh start is never mistaken for "another host took over".
 */
export function reconcileLocalEngine(
  monitor: EngineStatus | null,
  vmActiveHere: boolean | null | undefined,
): EngineStatus | null {
  if (vmActiveHere !== true || monitor === null) return monitor;
  if (monitor.vm === "up" || monitor.vm === "unknown") return monitor;
  return {
    vm: "up",
    health: "bad",
    detail: "Up",
    reason: "running on this host; engine health not checked yet",
  };
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
      engine: reconcileLocalEngine(monitorEngineStatus(m["engine-health"]), input.vmActiveHere),
      network: monitorNumber(m.network),
      bridge: monitorBool(m["mgmt-bridge"]),
      memFreeMb: monitorNumber(m["mem-free"]),
      cpuLoad: monitorNumber(m["cpu-load-no-engine"]),
      storageOk: monitorBool(m["storage-domain"]),
      localMaintenance: input.haConf.localMaintenance || input.haConf.localMaintenanceManual,
    },
  };
}
