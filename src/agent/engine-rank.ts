import type { EngineStatus } from "../storage/whiteboard/types.js";

/** The status used when a host's engine status is missing or unreadable. */
export const UNKNOWN_ENGINE: Readonly<EngineStatus> = Object.freeze({
  vm: "unknown",
  health: "bad",
  detail: "unknown",
});

/**
 * Rank of an engine status for picking the "best engine" of the cluster (behaviour.md §5):
 * unknown 0 < any down 1 < up+Paused 2 < up+bad 3 < up+good 4.
 */
export function engineStatusRank(status: EngineStatus | undefined | null): number {
  if (!status) return 0;
  switch (status.vm) {
    case "unknown":
      return 0;
    case "down":
    case "down_unexpected":
    case "down_missing":
      return 1;
    case "up":
      if (status.detail === "Paused") return 2;
      return status.health === "good" ? 4 : 3;
    default:
      return 0;
  }
}
