import type { Collection } from "./history.js";

/**
 * Hosts alive at the newest collection (behaviour.md §3). A host is alive when its
 * block's timestamp differs from the one we saw in the newest collection that finished
 * more than `timeout` seconds before this one started (or it was absent then) — judged
 * only by our own clock. Without such an old collection nobody is alive.
 *
 * `history` is newest first; history[0] is the current collection.
 */
export function aliveHostIds(history: readonly Collection[], timeout: number): number[] {
  const current = history[0];
  if (!current) return [];
  const historic = history.slice(1).find((c) => c.collectFinish + timeout < current.collectStart);
  if (!historic) return [];
  const alive: number[] = [];
  for (const [id, block] of current.hosts) {
    const old = historic.hosts.get(id);
    if (!old || old.timestamp !== block.timestamp) alive.push(id);
  }
  return alive.sort((a, b) => a - b);
}
