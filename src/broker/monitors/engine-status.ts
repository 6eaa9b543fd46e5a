import type { EngineStatus, VmStatus } from "../../storage/whiteboard/types.js";
import { type VdsmStatusDetail, type VdsmVmStats, vdsmStatusDetail } from "./vdsm-status.js";

/**
 * The engine-health value (behaviour.md §5). `health` is "unknown" only when the
 * hypervisor cannot be asked, as in the original (`failed to getVmStats`).
 */
export type EngineHealthStatus = Omit<EngineStatus, "health"> & {
  health: EngineStatus["health"] | "unknown";
};

/** What this host last knew of the VM (the original's `_vm_state`); starts "down". */
export type TrackedVm = Exclude<VmStatus, "unknown">;

export const STORAGE_LOCKED_REASON =
  "Storage of VM is locked. Is another host already starting the VM?";

/** The original's reason for a VM that left this host by a finished migration. */
export const MIGRATED_AWAY_REASON = "VM migrated away successfully";

/**
 * One look at the hypervisor: libvirt's domain state, or VDSM's VM.getStats answer
 * (`missing` = libvirt does not know the domain / VDSM answered "no such VM").
 */
export type VmObservation =
  | { kind: "unavailable" }
  | { kind: "missing" }
  | { kind: "state"; state: string }
  | ({ kind: "vdsm" } & VdsmVmStats);

function observedDetail(obs: VmObservation): VdsmStatusDetail | undefined {
  if (obs.kind === "state") return libvirtStateDetail(obs.state);
  if (obs.kind === "vdsm") return vdsmStatusDetail(obs);
  return undefined;
}

/** How a libvirt state reads as a VDSM status (the `detail`) and which way it counts. */
export function libvirtStateDetail(state: string): {
  detail: string;
  as: "running" | "up-bad" | "down";
} {
  switch (state.toLowerCase()) {
    case "running":
    case "blocked":
      return { detail: "Up", as: "running" };
    case "shutdown":
      return { detail: "Powering down", as: "running" };
    case "paused":
    case "pmsuspended":
      return { detail: "Paused", as: "up-bad" };
    case "nostate":
      return { detail: "Powering up", as: "up-bad" };
    default:
      // shutoff, crashed, and anything libvirt may add later
      return { detail: "Down", as: "down" };
  }
}

/**
 * A VM libvirt does not know, that the agent started here and never stopped on purpose,
 * died here: it reads as VDSM reports such a VM, a `Down` entry (so `down_unexpected`
 * after `up`), not as "not on this host" (`down_missing`). See started-here.ts.
 */
export function withStartRecord(obs: VmObservation, startedHere: boolean): VmObservation {
  return obs.kind === "missing" && startedHere ? { kind: "state", state: "shutoff" } : obs;
}

/** Whether the liveliness check must run for this observation. */
export function needsLiveliness(obs: VmObservation): boolean {
  return observedDetail(obs)?.as === "running";
}

export interface EngineDecision {
  status: EngineHealthStatus;
  tracked: TrackedVm;
}

/**
 * The original engine-health submonitor's mapping, over VDSM's status or libvirt's state:
 * - hypervisor unavailable: unknown/unknown, tracked state unchanged;
 * - a start refused on the VM lease (recorded by the agent, still fresh) while the VM
 *   does not run here: down/bad "Down" with the recorded reason; tracked back to down;
 * - VDSM: Down with a lock-failure exit message: down/bad "Down", the storage-locked
 *   reason; Down after a finished migration: down/bad "Down", "VM migrated away
 *   successfully"; tracked back to down either way;
 * - not known to the hypervisor: down (down_missing after having been up here), bad,
 *   detail "unknown", "vm not running on this host";
 * - shut off / crashed: down_unexpected unless already down, bad, "Down", "bad vm status";
 * - paused, powering up: up/bad with that detail, "bad vm status";
 * - running: up, good when the liveliness check passed, else bad "failed liveliness check".
 */
export function decideEngineStatus(
  tracked: TrackedVm,
  obs: VmObservation,
  lockFailureReason: string | undefined,
  livelinessOk: boolean,
): EngineDecision {
  if (obs.kind === "unavailable") {
    return {
      tracked,
      status: {
        vm: "unknown",
        health: "unknown",
        detail: "unknown",
        reason: "failed to getVmStats",
      },
    };
  }
  const mapped = observedDetail(obs);
  const notRunningHere = mapped === undefined || mapped.as === "down";
  if (notRunningHere && lockFailureReason !== undefined) {
    return {
      tracked: "down",
      status: { vm: "down", health: "bad", detail: "Down", reason: lockFailureReason },
    };
  }
  if (mapped?.cause !== undefined) {
    const reason = mapped.cause === "storage-locked" ? STORAGE_LOCKED_REASON : MIGRATED_AWAY_REASON;
    return {
      tracked: "down",
      status: { vm: "down", health: "bad", detail: mapped.detail, reason },
    };
  }
  if (mapped === undefined) {
    const next: TrackedVm = tracked === "up" ? "down_missing" : tracked;
    return {
      tracked: next,
      status: { vm: next, health: "bad", detail: "unknown", reason: "vm not running on this host" },
    };
  }
  if (mapped.as === "down") {
    const next: TrackedVm = tracked === "down" ? "down" : "down_unexpected";
    return {
      tracked: next,
      status: { vm: next, health: "bad", detail: mapped.detail, reason: "bad vm status" },
    };
  }
  if (mapped.as === "up-bad") {
    return {
      tracked: "up",
      status: { vm: "up", health: "bad", detail: mapped.detail, reason: "bad vm status" },
    };
  }
  if (!livelinessOk) {
    return {
      tracked: "up",
      status: { vm: "up", health: "bad", detail: mapped.detail, reason: "failed liveliness check" },
    };
  }
  return { tracked: "up", status: { vm: "up", health: "good", detail: mapped.detail } };
}
