import type { VdsmVmStats } from "../../vdsm/vm-stats-source.js";
import { VmExitReason, VmStatus } from "../../vdsm/wire.js";

/** Why a `Down` VM is plain `down` (not unexpected): the original's two special cases. */
export type VdsmDownCause = "storage-locked" | "migrated-away";

export interface VdsmStatusDetail {
  /** VDSM's status string, reported as `detail` */
  detail: string;
  as: "running" | "up-bad" | "down";
  cause?: VdsmDownCause;
}

/**
 * libvirt's sanlock lock manager refusing the VM lease, as VDSM's exitMessage carries
 * it: the original engine_health's `_failed_to_acquire_lock` (message endings, and the
 * qemu image-lock question).
 */
export function isVdsmLockFailure(exitMessage: string): boolean {
  return (
    exitMessage.endsWith("Failed to acquire lock: error -243") ||
    exitMessage.endsWith("Failed to acquire lock: Lease is held by another host") ||
    exitMessage.endsWith("Is another process using the image?") ||
    /Is another process using the image \[.*\]\?$/.test(exitMessage)
  );
}

/**
 * The original engine_health's reading of VDSM's VM status (`_result_from_stats`):
 * - Down with a lock-failure exit message: down, "storage locked";
 * - Down with exit reason "migration succeeded": down, "migrated away";
 * - Down, Migration Destination: down (unexpected unless already down);
 * - Paused, WaitForLaunch, Restoring state, Powering up: up but health bad;
 * - anything else (Up, Powering down, Migration Source, Saving State, …): running,
 *   the health page decides.
 */
export function vdsmStatusDetail(s: VdsmVmStats): VdsmStatusDetail {
  const detail = s.status;
  if (detail === VmStatus.down) {
    if (isVdsmLockFailure(s.exitMessage ?? ""))
      return { detail, as: "down", cause: "storage-locked" };
    if ((s.exitReason ?? 0) === VmExitReason.migrationSucceeded)
      return { detail, as: "down", cause: "migrated-away" };
  }
  switch (detail) {
    case VmStatus.down:
    case VmStatus.migrationDestination:
      return { detail, as: "down" };
    case VmStatus.paused:
    case VmStatus.waitForLaunch:
    case VmStatus.restoringState:
    case VmStatus.poweringUp:
      return { detail, as: "up-bad" };
    default:
      return { detail, as: "running" };
  }
}

export type { VdsmVmStats };
