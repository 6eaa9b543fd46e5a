import type { ClusterStatus, HostStatus } from "./cluster-status.js";
import { engineStatusOf } from "./cluster-status.js";

/**
 * The cluster in one line (`he-ha status`, first line; `he-ha status --summary`): where
 * the engine VM runs and how healthy it is, maintenance, how many hosts are live, and
 * which hosts could take the engine over. Only live hosts count: a dead host's last
 * block still says what it said.
 */
export interface ClusterSummary {
  /** live hosts reporting the engine VM up (more than one is an incident) */
  engine: Array<{ host_id: number; hostname: string; health: string }>;
  maintenance: "global" | "none";
  /** hosts in local maintenance, by id */
  local_maintenance: number[];
  live_hosts: number;
  hosts: number;
  /** live hosts with a positive score, outside local maintenance, not running the engine */
  standby: Array<{ host_id: number; hostname: string; score: number }>;
}

const vmUp = (h: HostStatus) => h.live && engineStatusOf(h.block).vm === "up";

export function clusterSummary(status: ClusterStatus): ClusterSummary {
  const live = status.hosts.filter((h) => h.live);
  return {
    engine: status.hosts.filter(vmUp).map((h) => ({
      host_id: h.block.hostId,
      hostname: h.block.hostname,
      health: engineStatusOf(h.block).health,
    })),
    maintenance: status.globalMaintenance ? "global" : "none",
    local_maintenance: status.hosts.filter((h) => h.block.maintenance).map((h) => h.block.hostId),
    live_hosts: live.length,
    hosts: status.hosts.length,
    standby: live
      .filter((h) => !vmUp(h) && !h.block.maintenance && h.block.score > 0)
      .map((h) => ({ host_id: h.block.hostId, hostname: h.block.hostname, score: h.block.score })),
  };
}

const named = (h: { hostname: string; host_id: number }) => `${h.hostname} (id ${h.host_id})`;

/** e.g. `engine: up on host1 (id 1), health good | maintenance: none | live hosts: 3/3 | standby: host2 (3400), host3 (3400)` */
export function formatSummaryLine(s: ClusterSummary): string {
  let engine: string;
  if (s.engine.length === 0) engine = "engine: not up on any live host";
  else if (s.engine.length === 1) {
    const e = s.engine[0]!;
    engine = `engine: up on ${named(e)}, health ${e.health}`;
  } else engine = `engine: UP ON ${s.engine.length} HOSTS: ${s.engine.map(named).join(", ")}`;
  const maint =
    s.local_maintenance.length > 0
      ? `maintenance: ${s.maintenance}, local on id ${s.local_maintenance.join(", ")}`
      : `maintenance: ${s.maintenance}`;
  const standby =
    s.standby.length === 0
      ? "standby: none"
      : `standby: ${s.standby.map((h) => `${h.hostname} (${h.score})`).join(", ")}`;
  return `${engine} | ${maint} | live hosts: ${s.live_hosts}/${s.hosts} | ${standby}\n`;
}

/** `4 s ago`, `3 min ago`; null → `not seen changing since the broker started`. */
export function formatAge(seconds: number | null): string {
  if (seconds === null) return "not seen changing since the broker started";
  if (seconds < 120) return `${Math.round(seconds)} s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3600)} h ago`;
}
