import { formatBool } from "../../common/keyvalue.js";
import type { ClusterStatus, HostStatus } from "./cluster-status.js";
import { engineStatusOf, extraLines } from "./cluster-status.js";
import { formatAge } from "./summary.js";

/**
 * `hosted-engine --vm-status` layout (behaviour.md §11): the same fields, labels and
 * order as the original, so scripts that scrape it keep working.
 */

type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

interface Field {
  /** key in the JSON document (the original client's metadata dict key) */
  key: string;
  /** label in the text layout */
  label: string;
  text(h: HostStatus): string;
  json(h: HostStatus): JsonValue;
}

const LABEL_WIDTH = 35;
export const STALE_ENGINE_STATUS = "unknown stale-data";
export const GLOBAL_MAINTENANCE_BANNER = "!! Cluster is in GLOBAL MAINTENANCE mode !!";
const EXTRA_LABEL = "Extra metadata (valid at timestamp)";

/** Python's str() of a bool, as the original prints them. */
const py = formatBool;

/** In output order. Older writers without a CRC have no crc32 field. */
const FIELDS: Field[] = [
  {
    key: "host-id",
    label: "Host ID",
    text: (h) => String(h.block.hostId),
    json: (h) => h.block.hostId,
  },
  {
    key: "host-ts",
    label: "Host timestamp",
    text: (h) => String(h.block.timestamp),
    json: (h) => h.block.timestamp,
  },
  { key: "score", label: "Score", text: (h) => String(h.block.score), json: (h) => h.block.score },
  {
    key: "engine-status",
    label: "Engine status",
    text: (h) => (h.live ? h.block.engineStatusRaw : STALE_ENGINE_STATUS),
    json: (h) => ({ ...engineStatusOf(h.block) }),
  },
  {
    key: "hostname",
    label: "Hostname",
    text: (h) => h.block.hostname,
    json: (h) => h.block.hostname,
  },
  {
    key: "maintenance",
    label: "Local maintenance",
    text: (h) => py(h.block.maintenance),
    json: (h) => h.block.maintenance,
  },
  {
    key: "stopped",
    label: "stopped",
    text: (h) => py(h.block.stopped),
    json: (h) => h.block.stopped,
  },
  { key: "crc32", label: "crc32", text: (h) => h.block.crc32, json: (h) => h.block.crc32 },
  {
    key: "conf_on_shared_storage",
    label: "conf_on_shared_storage",
    text: (h) => py(h.block.confOnSharedStorage),
    json: (h) => h.block.confOnSharedStorage,
  },
  {
    key: "local_conf_timestamp",
    label: "local_conf_timestamp",
    text: (h) => String(h.block.vmConfRefreshTime),
    json: (h) => h.block.vmConfRefreshTime,
  },
  { key: "live-data", label: "Status up-to-date", text: (h) => py(h.live), json: (h) => h.live },
  // ours, after the original's fields: how long ago the local broker saw the block change
  {
    key: "updated-seconds-ago",
    label: "Block updated",
    text: (h) => formatAge(h.updatedAgo ?? null),
    json: (h) => (h.updatedAgo == null ? null : Math.round(h.updatedAgo * 10) / 10),
  },
];

function present(field: Field, h: HostStatus): boolean {
  if (field.key === "updated-seconds-ago") return h.updatedAgo !== undefined;
  return field.key !== "crc32" || h.block.crc32 !== "";
}

function hostText(h: HostStatus): string {
  let out = `\n\n--== Host ${h.block.hostname} (id: ${h.block.hostId}) status ==--\n\n`;
  for (const f of FIELDS) {
    if (present(f, h)) out += `${f.label.padEnd(LABEL_WIDTH)}: ${f.text(h)}\n`;
  }
  const extra = extraLines(h.block);
  if (extra.length > 0) {
    out += `${EXTRA_LABEL.padEnd(LABEL_WIDTH)}:\n`;
    for (const line of extra) out += `\t${line}\n`;
  }
  return out;
}

/** The whole `--vm-status` text, banner before and after when in global maintenance. */
export function formatVmStatusText(status: ClusterStatus): string {
  const banner = status.globalMaintenance ? `\n\n${GLOBAL_MAINTENANCE_BANNER}\n\n` : "";
  return banner + status.hosts.map(hostText).join("") + banner;
}

/**
 * `--vm-status --json`: `{ "<host id>": { fields }, "global_maintenance": bool }`, the
 * engine status parsed and the extra metadata as one text, as the original prints it.
 */
export function vmStatusJson(status: ClusterStatus): Record<string, JsonValue> {
  const doc: Record<string, JsonValue> = {};
  for (const h of status.hosts) {
    const fields: Record<string, JsonValue> = {};
    const extra = extraLines(h.block);
    for (const f of FIELDS) {
      // the original's dict order: extra sits just before live-data
      if (f.key === "live-data" && extra.length > 0)
        fields.extra = extra.map((l) => `${l}\n`).join("");
      if (present(f, h)) fields[f.key] = f.json(h);
    }
    doc[String(h.block.hostId)] = fields;
  }
  doc.global_maintenance = status.globalMaintenance;
  return doc;
}
