import { buildContext } from "../../src/agent/fsm/context.js";
import type { FsmContext } from "../../src/agent/fsm/types.js";
import type { Collection, LocalStats } from "../../src/agent/history.js";
import { DEFAULT_SCORE_CONFIG } from "../../src/common/agent-conf.js";
import { DEFAULT_TIMING, type Timing } from "../../src/common/timing.js";
import type { EngineStatus, HostBlock } from "../../src/storage/whiteboard/types.js";

/** Test fixtures: engine statuses, host blocks, collections and step contexts. */
export const UP_GOOD: EngineStatus = { vm: "up", health: "good", detail: "Up" };
export const UP_BAD: EngineStatus = { vm: "up", health: "bad", detail: "Powering up" };
export const PAUSED: EngineStatus = { vm: "up", health: "bad", detail: "Paused" };
export const DOWN: EngineStatus = { vm: "down", health: "bad", detail: "unknown" };
export const DOWN_UNEXPECTED: EngineStatus = {
  vm: "down_unexpected",
  health: "bad",
  detail: "Down",
};
export const DOWN_MISSING: EngineStatus = { vm: "down_missing", health: "bad", detail: "unknown" };
export const UNKNOWN: EngineStatus = { vm: "unknown", health: "bad", detail: "unknown" };

export const HOST_ID = 1;
export const NOW = 10_000;

export function hostBlock(
  hostId: number,
  score: number,
  engine: EngineStatus,
  timestamp: number,
): HostBlock {
  return {
    parseVersion: 1,
    featureVersion: 1,
    timestamp,
    hostId,
    score,
    engineStatusRaw: JSON.stringify(engine),
    engineStatus: engine,
    hostname: `host${hostId}.example.com`,
    maintenance: false,
    stopped: false,
    crc32: "00000000",
    confOnSharedStorage: true,
    vmConfRefreshTime: 0,
    extra: {},
  };
}

export function localStats(over: Partial<LocalStats> = {}): LocalStats {
  return {
    engine: DOWN,
    network: 1,
    bridge: true,
    memFreeMb: 16384,
    cpuLoad: 0.1,
    storageOk: true,
    localMaintenance: false,
    ...over,
  };
}

export interface Remote {
  id: number;
  score: number;
  engine: EngineStatus;
  /** the host's block did not change over the history: it is dead */
  dead?: boolean;
}

export interface WorldOptions {
  local?: Partial<LocalStats>;
  remotes?: Remote[];
  global?: boolean;
  tooNew?: boolean;
  now?: number;
  /** only one collection: not enough history, nobody alive */
  fresh?: boolean;
  timing?: Partial<Timing>;
  vmMemSizeMb?: number | null;
}

/** A history where every remote not marked dead changed its timestamp over 120 s. */
export function world(o: WorldOptions = {}): FsmContext {
  const now = o.now ?? NOW;
  const timing = { ...DEFAULT_TIMING, ...o.timing };
  const remotes = o.remotes ?? [];
  const collection = (at: number, stamp: number): Collection => ({
    collectStart: at,
    collectFinish: at,
    hosts: new Map(
      remotes.map((r) => [r.id, hostBlock(r.id, r.score, r.engine, r.dead ? 500 : stamp)]),
    ),
    globalMaintenance: o.global ?? false,
    tooNew: o.tooNew ?? false,
    local: localStats(o.local),
  });
  const history = o.fresh
    ? [collection(now, now)]
    : [collection(now, now), collection(now - 120, now - 120)];
  return buildContext(HOST_ID, history, {
    scoreConfig: { ...DEFAULT_SCORE_CONFIG },
    timing,
    confUpToDate: true,
    vmMemSizeMb: o.vmMemSizeMb === undefined ? 4096 : o.vmMemSizeMb,
  });
}
