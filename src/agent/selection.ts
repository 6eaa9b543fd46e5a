import type { EngineStatus } from "../storage/whiteboard/types.js";
import { engineStatusRank, UNKNOWN_ENGINE } from "./engine-rank.js";
import type { Collection } from "./history.js";

export interface BestEngine {
  hostId: number;
  status: EngineStatus;
}

export interface BestScoreHost {
  hostId: number;
  score: number;
  hostname: string;
}

/**
 * The host whose engine looks best (behaviour.md §5): the local status unless an alive
 * remote host ranks strictly higher; among equal remotes the lowest host id wins.
 */
export function bestEngine(
  localHostId: number,
  current: Collection,
  alive: readonly number[],
): BestEngine {
  const local = current.local.engine ?? UNKNOWN_ENGINE;
  let best: BestEngine | null = null;
  let bestRank = -1;
  for (const id of alive) {
    const status = current.hosts.get(id)?.engineStatus ?? UNKNOWN_ENGINE;
    const rank = engineStatusRank(status);
    if (rank > bestRank) {
      best = { hostId: id, status };
      bestRank = rank;
    }
  }
  if (!best || engineStatusRank(local) >= bestRank) return { hostId: localHostId, status: local };
  return best;
}

/** The alive remote host with the highest score (lowest id on ties); null when that is 0. */
export function bestRemoteScore(
  current: Collection,
  alive: readonly number[],
): BestScoreHost | null {
  let best: BestScoreHost | null = null;
  for (const id of alive) {
    const block = current.hosts.get(id);
    if (!block) continue;
    if (!best || block.score > best.score) {
      best = { hostId: id, score: block.score, hostname: block.hostname };
    }
  }
  return best && best.score > 0 ? best : null;
}
