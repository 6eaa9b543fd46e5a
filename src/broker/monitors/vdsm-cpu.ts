import type { VdsmCpuStats } from "../../vdsm/vm-stats-source.js";
/**
 * cpu-load-no-engine on VDSM hosts, as the original submonitor computes it from
 * VM.getStats: VDSM's `cpuUser` + `cpuSys` (percent of one CPU) over the host's CPUs is the
 * engine VM's share; figures VDSM has not measured yet (`cpuActual` false, or without it
 * `cpuUsage` "0.00") are not trusted for up to 300 s.
 */

/** The VM.getStats fields the load reads (strings in VDSM's answer). */

/** The engine VM as VDSM reports it for the load: not here, or here with its share. */
export type VdsmCpuObservation = { kind: "absent" } | VdsmCpuPresent;

export interface VdsmCpuPresent {
  kind: "present";
  share: number;
  real: boolean;
}

/** How long unmeasured figures are ignored (the original: 300 s). */
export const UNREAL_CPU_GRACE_MS = 300_000;

/**
 * One VM.getStats answer → the engine's share of the host (0 when VDSM gives no usable
 * cpuUser/cpuSys, which then also counts as not measured, as the original's KeyError and
 * ValueError paths).
 */
export function vdsmCpuObservation(stats: VdsmCpuStats, ncpus: number): VdsmCpuPresent {
  const user = Number(stats.cpuUser);
  const sys = Number(stats.cpuSys);
  if (
    stats.cpuUser === undefined ||
    stats.cpuSys === undefined ||
    !Number.isFinite(user) ||
    !Number.isFinite(sys)
  )
    return { kind: "present", share: 0, real: false };
  const share = (user + sys) / Math.max(1, ncpus) / 100;
  const real =
    stats.cpuActual !== undefined
      ? stats.cpuActual === true
      : stats.cpuUsage !== undefined && stats.cpuUsage !== "0.00";
  return { kind: "present", share, real };
}

/** What the monitor reports (`load`) and when VDSM's figures were last trusted. */
export interface CpuGate {
  load: number;
  latestRealMs: number | null;
}

export const INITIAL_CPU_GATE: CpuGate = { load: 0, latestRealMs: null };

/**
 * The original's rule for publishing the non-engine load: at once when the VM is not on
 * this host or VDSM's figures are real; otherwise the previous load stays until 300 s
 * after the first (or last real) such answer, then the load is taken anyway.
 */
export function gateNoEngineLoad(
  g: CpuGate,
  nonEngine: number,
  obs: VdsmCpuObservation,
  nowMs: number,
): CpuGate {
  if (obs.kind === "absent" || obs.real) return { load: nonEngine, latestRealMs: nowMs };
  if (g.latestRealMs === null) return { load: g.load, latestRealMs: nowMs };
  if (nowMs - g.latestRealMs < UNREAL_CPU_GRACE_MS) return g;
  return { load: nonEngine, latestRealMs: g.latestRealMs };
}
