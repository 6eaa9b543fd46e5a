import type { EngineHealthStatus } from "./engine-status.js";

/**
 * Monitor values back from their `status_monitor` strings, the way the original agent
 * converted them (hosted_engine.py): floats for network, mem-free and cpu-load, booleans
 * for mgmt-bridge and storage-domain, the engine-health JSON as a dict. "None" (no value
 * yet) and unparseable numbers give null; an unparseable engine-health gives the
 * original's "serialization error" status.
 */
export interface LocalMonitorValues {
  network: number | null;
  bridge: boolean | null;
  memFree: number | null;
  cpuLoad: number | null;
  engineHealth: EngineHealthStatus | null;
  storageDomain: boolean | null;
}

export function decodeFloat(raw: string | null): number | null {
  if (raw === null || raw === "None") return null;
  const n = Number(raw);
  return raw.trim() !== "" && Number.isFinite(n) ? n : null;
}

export function decodeBool(raw: string | null): boolean | null {
  if (raw === null || raw === "None") return null;
  return raw !== "False";
}

export function decodeEngineHealth(raw: string | null): EngineHealthStatus | null {
  if (raw === null || raw === "None") return null;
  try {
    const d = JSON.parse(raw) as Record<string, unknown>;
    if (typeof d !== "object" || d === null || Array.isArray(d)) throw new Error("not a dict");
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(d)) out[k] = String(v);
    return out as unknown as EngineHealthStatus;
  } catch {
    return { vm: "unknown", health: "unknown", detail: "serialization error" };
  }
}

/** Decodes the six values the agent reads, keyed by the agent's field names. */
export function decodeLocalMonitors(raw: {
  network: string | null;
  bridge: string | null;
  "mem-free": string | null;
  "cpu-load": string | null;
  "engine-health": string | null;
  "storage-domain": string | null;
}): LocalMonitorValues {
  return {
    network: decodeFloat(raw.network),
    bridge: decodeBool(raw.bridge),
    memFree: decodeFloat(raw["mem-free"]),
    cpuLoad: decodeFloat(raw["cpu-load"]),
    engineHealth: decodeEngineHealth(raw["engine-health"]),
    storageDomain: decodeBool(raw["storage-domain"]),
  };
}
