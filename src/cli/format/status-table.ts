import type { ClusterStatus, HostStatus } from "./cluster-status.js";
import { engineStatusOf } from "./cluster-status.js";
import { GLOBAL_MAINTENANCE_BANNER } from "./vm-status.js";

/** `he-ha status --table`: one line per host, never wider than `width` (80) columns. */

const HEADERS = ["ID", "HOSTNAME", "STATE", "SCORE", "ENGINE VM", "HEALTH", "ALIVE", "MAINT"];
const HOSTNAME = 1;
const MIN_HOSTNAME = 8;

function maintenanceOf(h: HostStatus, global: boolean): string {
  if (h.block.maintenance) return "local";
  return global ? "global" : "-";
}

/** A stale host's engine VM is unknown, as in the text layout's "unknown stale-data". */
function row(h: HostStatus, global: boolean): string[] {
  const engine = engineStatusOf(h.block);
  return [
    String(h.block.hostId),
    h.block.hostname,
    h.block.extra.state ?? (h.block.stopped ? "AgentStopped" : "-"),
    String(h.block.score),
    h.live ? engine.vm : "unknown",
    h.live ? engine.health : "stale",
    h.live ? "yes" : "no",
    maintenanceOf(h, global),
  ];
}

function fitCell(cell: string, width: number): string {
  return cell.length <= width ? cell : `${cell.slice(0, Math.max(0, width - 1))}~`;
}

export function formatStatusTable(status: ClusterStatus, width = 80): string {
  const rows = status.hosts.map((h) => row(h, status.globalMaintenance));
  const widths = HEADERS.map((head, i) => Math.max(head.length, ...rows.map((r) => r[i]!.length)));
  // every column but the hostname keeps its width; the hostname gets what is left
  const others = widths.reduce((sum, w, i) => (i === HOSTNAME ? sum : sum + w), 0);
  const gaps = HEADERS.length - 1;
  widths[HOSTNAME] = Math.max(MIN_HOSTNAME, Math.min(widths[HOSTNAME]!, width - others - gaps));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => fitCell(c, widths[i]!).padEnd(widths[i]!))
      .join(" ")
      .trimEnd()
      .slice(0, width);
  let out = status.globalMaintenance ? `${GLOBAL_MAINTENANCE_BANNER}\n` : "";
  out += `${line(HEADERS)}\n`;
  for (const r of rows) out += `${line(r)}\n`;
  return out;
}
