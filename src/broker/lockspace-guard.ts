import type { DecodeError, HostBlock } from "../storage/whiteboard/types.js";

/** What the lockspace reset guard looks at: the whiteboard as decoded. */
export interface ResetView {
  globalMaintenance: boolean;
  blocks: readonly HostBlock[];
  errors: readonly DecodeError[];
}

/**
 * Why resetting the lockspace is unsafe now, one line per reason (empty when safe):
 * global maintenance must be on and every host's block must say its agent stopped. A
 * block that does not decode cannot say so and blocks too. `he-ha lockspace reinit`
 * and the broker's reset_lockspace apply the same rule.
 */
export function resetBlockers(view: ResetView): string[] {
  const out: string[] = [];
  if (!view.globalMaintenance) {
    out.push("the cluster is not in global maintenance (he-ha maintenance --mode global)");
  }
  for (const b of view.blocks) {
    if (b.stopped) continue;
    const state = b.extra.state ? `, state ${b.extra.state}` : "";
    out.push(
      `host ${b.hostId} (${b.hostname}): its agent has not stopped (score ${b.score}${state})`,
    );
  }
  for (const e of view.errors) {
    out.push(
      `host ${e.hostId}: its block does not decode (${e.reason}), so it cannot show that its agent stopped`,
    );
  }
  return out;
}

/** What the broker knows beyond the blocks: whether it read them and who it saw live. */
export interface BrokerResetView extends ResetView {
  /** the broker has read the metadata volume at least once */
  hasRead: boolean;
  /** hosts whose block timestamp changed within host_alive_timeout, as this broker saw */
  observedAlive: (hostId: number) => boolean;
  /** seconds this broker has watched the whiteboard, and the seconds liveness needs */
  watchedSeconds: number;
  aliveTimeout: number;
}

/**
 * The broker's own guard for reset_lockspace, whoever calls it. Without `force`: the
 * rule of resetBlockers. With `force` (he-ha lockspace reinit --force) maintenance and
 * stale not-stopped blocks are skipped, but never a host whose agent is live: a block
 * that is not stopped and whose timestamp moves (or that the broker has not watched long
 * enough to tell) blocks, because re-initialising a lockspace a live host holds makes
 * every sanlock daemon drop it and fires the engine VM's kill path.
 */
export function brokerResetBlockers(view: BrokerResetView, force: boolean): string[] {
  if (!view.hasRead) return ["the broker has not read the metadata volume yet"];
  if (!force) return resetBlockers(view);
  const out: string[] = [];
  const running = view.blocks.filter((b) => !b.stopped);
  if (running.length > 0 && view.watchedSeconds < view.aliveTimeout) {
    out.push(
      `the broker has watched the whiteboard for ${Math.floor(view.watchedSeconds)} s of the ${view.aliveTimeout} s it needs to tell whether hosts ${running.map((b) => b.hostId).join(", ")} are live`,
    );
    return out;
  }
  for (const b of running) {
    if (view.observedAlive(b.hostId)) {
      out.push(
        `host ${b.hostId} (${b.hostname}): its agent is live (its block changed within ${view.aliveTimeout} s and does not say stopped)`,
      );
    }
  }
  return out;
}

export class LockspaceResetRefused extends Error {
  override name = "LockspaceResetRefused";
  constructor(readonly blockers: string[]) {
    super(`refusing to re-initialise the lockspace: ${blockers.join("; ")}`);
  }
}
