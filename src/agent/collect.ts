import type { HaConf } from "../common/ha-conf.js";
import type { AgentMonitor } from "../common/monitor-table.js";
import type { EngineStatus, WhiteboardSnapshot } from "../storage/whiteboard/types.js";
import type { Collection, LocalStats } from "./history.js";
import { decodeMonitors, type MonitorStrings } from "./monitor-values.js";

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

/** The LocalStats field each agent monitor fills (a new monitor needs one: monitor-table.ts). */
const LOCAL_FIELD = {
  network: "network",
  "mgmt-bridge": "bridge",
  "mem-free": "memFreeMb",
  "cpu-load-no-engine": "cpuLoad",
  "engine-health": "engine",
  "storage-domain": "storageOk",
} as const satisfies Record<AgentMonitor, keyof LocalStats>;

/**
 * One collection from what was read: remote hosts (our own stale segment left out),
 * global maintenance, the too-new flag, monitor values and the local maintenance flags.
 */
export function collectionFrom(input: CollectInput): Collection {
  const hosts = new Map(input.snapshot.hosts);
  hosts.delete(input.hostId);
  const v = decodeMonitors(input.monitors);
  return {
    collectStart: input.collectStart,
    collectFinish: input.collectFinish,
    hosts,
    globalMaintenance: input.snapshot.global.maintenance,
    tooNew: input.snapshot.tooNew,
    local: {
      [LOCAL_FIELD["engine-health"]]: reconcileLocalEngine(v["engine-health"], input.vmActiveHere),
      [LOCAL_FIELD.network]: v.network,
      [LOCAL_FIELD["mgmt-bridge"]]: v["mgmt-bridge"],
      [LOCAL_FIELD["mem-free"]]: v["mem-free"],
      [LOCAL_FIELD["cpu-load-no-engine"]]: v["cpu-load-no-engine"],
      [LOCAL_FIELD["storage-domain"]]: v["storage-domain"],
      localMaintenance: input.haConf.localMaintenance || input.haConf.localMaintenanceManual,
    },
  };
}
