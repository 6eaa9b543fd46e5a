import type { EngineStatus, HostBlock } from "../storage/whiteboard/types.js";

/** What the local broker monitors and ha.conf said at one collection. */
export interface LocalStats {
  /** engine-health monitor; null when it has no value yet (treated as unknown) */
  engine: EngineStatus | null;
  /** network monitor 0..1 */
  network: number | null;
  /** management bridge */
  bridge: boolean | null;
  /** free memory, MB */
  memFreeMb: number | null;
  /** CPU load without the engine VM, 0..1 */
  cpuLoad: number | null;
  /** storage-domain monitor */
  storageOk: boolean | null;
  /** local_maintenance or local_maintenance_manual in ha.conf */
  localMaintenance: boolean;
}

/** One collection: the whiteboard as read plus the local stats, stamped with our clock. */
export interface Collection {
  /** monotonic seconds when the collection started (published as the block timestamp) */
  collectStart: number;
  /** monotonic seconds when it finished (the decision time) */
  collectFinish: number;
  /** remote hosts that decoded; our own segment is left out */
  hosts: ReadonlyMap<number, HostBlock>;
  globalMaintenance: boolean;
  /** a block was written by a newer agent */
  tooNew: boolean;
  local: LocalStats;
}

/**
 * Adds a collection in front of the history (newest first) and drops entries whose
 * collection started `window` seconds or more before the new one.
 */
export function appendHistory(
  history: readonly Collection[],
  current: Collection,
  window: number,
): Collection[] {
  const limit = current.collectStart - window;
  return [current, ...history.filter((c) => c.collectStart > limit)];
}

/**
 * The history (newest first) is long enough to judge liveness over `span` seconds: it
 * holds a collection that finished more than `span` seconds before the newest started,
 * the very one liveness.ts compares against. (Measuring the span from finish to finish
 * with >= let an agent decide one loop before liveness could see anyone: with an exact
 * loop rhythm every freshly started agent saw nobody alive and tried a start that only
 * the engine VM's lease refused.)
 */
export function historySpans(history: readonly Collection[], span: number): boolean {
  const newest = history[0];
  if (!newest) return false;
  return history.slice(1).some((c) => c.collectFinish + span < newest.collectStart);
}
