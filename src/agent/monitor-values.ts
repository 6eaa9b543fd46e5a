import {
  AGENT_MONITORS,
  type AgentMonitor,
  MONITOR_TABLE,
  type MonitorRow,
} from "../common/monitor-table.js";
import type { EngineStatus, Health, VmStatus } from "../storage/whiteboard/types.js";

/** The broker monitors the agent starts (src/common/monitor-table.ts). */
export const MONITOR_FIELDS = AGENT_MONITORS;

export type MonitorField = AgentMonitor;

interface DecodedKinds {
  number: number | null;
  bool: boolean | null;
  "engine-status": EngineStatus | null;
}

/** Every agent monitor's value as the agent reads it; null = no value yet. */
export type MonitorValues = {
  [K in AgentMonitor]: DecodedKinds[(typeof MONITOR_TABLE)[K]["value"]];
};

/** status_monitor strings as returned by the broker; null/"None" = no value yet. */
export type MonitorStrings = Partial<Record<MonitorField, string | null>>;

const VM_STATUSES: ReadonlySet<string> = new Set([
  "up",
  "down",
  "down_unexpected",
  "down_missing",
  "unknown",
]);

function present(v: string | null | undefined): string | null {
  if (v === null || v === undefined) return null;
  const t = v.trim();
  return t === "" || t === "None" ? null : t;
}

export function monitorNumber(v: string | null | undefined): number | null {
  const t = present(v);
  if (t === null) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

export function monitorBool(v: string | null | undefined): boolean | null {
  const t = present(v);
  if (t === null) return null;
  if (/^(true|1|yes)$/i.test(t)) return true;
  if (/^(false|0|no)$/i.test(t)) return false;
  return null;
}

/**
 * The engine-health monitor's JSON (behaviour.md §5). No value → null; a value that does
 * not parse → vm unknown with detail "serialization error", as the original reads it.
 */
export function monitorEngineStatus(v: string | null | undefined): EngineStatus | null {
  const t = present(v);
  if (t === null) return null;
  try {
    const o = JSON.parse(t) as Record<string, unknown>;
    if (typeof o !== "object" || o === null) throw new TypeError("not an object");
    const vm = String(o.vm ?? "unknown");
    const status: EngineStatus = {
      vm: (VM_STATUSES.has(vm) ? vm : "unknown") as VmStatus,
      health: (o.health === "good" ? "good" : "bad") as Health,
      detail: String(o.detail ?? "unknown"),
    };
    if (o.reason !== undefined && o.reason !== null) status.reason = String(o.reason);
    return status;
  } catch {
    return { vm: "unknown", health: "bad", detail: "serialization error" };
  }
}

const DECODERS: {
  [V in MonitorRow["value"]]: (raw: string | null | undefined) => DecodedKinds[V];
} = { number: monitorNumber, bool: monitorBool, "engine-status": monitorEngineStatus };

/** Decodes every agent monitor's string by its row's kind (monitorNumber, monitorBool, monitorEngineStatus). */
export function decodeMonitors(m: MonitorStrings): MonitorValues {
  const out: Partial<Record<AgentMonitor, unknown>> = {};
  for (const k of AGENT_MONITORS) out[k] = DECODERS[MONITOR_TABLE[k].value](m[k]);
  return out as MonitorValues;
}
