import { readFileSync } from "node:fs";
import path from "node:path";
import { buildContext } from "../../src/agent/fsm/context.js";
import { stateScore } from "../../src/agent/fsm/score.js";
import type { FsmData } from "../../src/agent/fsm/types.js";
import type { Collection, LocalStats } from "../../src/agent/history.js";
import { hostBlockInput } from "../../src/agent/publish.js";
import { type BrokerStatus, buildStatus } from "../../src/broker/status.js";
import type { StorageHealth } from "../../src/broker/storage-cycle.js";
import { type AgentConf, DEFAULT_SCORE_CONFIG } from "../../src/common/agent-conf.js";
import { DEFAULT_TIMING } from "../../src/common/timing.js";
import type { ScoreResult } from "../../src/score/score.js";
import {
  decodeWhiteboard,
  encodeGlobalBlock,
  encodeHostBlock,
  SEGMENT_SIZE,
} from "../../src/storage/whiteboard/index.js";
import { localStats } from "../agent/world.js";

export const DEFAULT_CONF: AgentConf = {
  score: { ...DEFAULT_SCORE_CONFIG },
  timing: { ...DEFAULT_TIMING },
};

/** One host as its agent sees itself at one loop: its machine data and its monitors. */
export interface AgentView {
  id: number;
  data: FsmData;
  local?: Partial<LocalStats>;
  /** the agent's effective agent.conf (default: all defaults) */
  conf?: AgentConf;
  /** seconds its wall clock is ahead of the true time (default 0) */
  clockOffset?: number;
}

/** wall clock minus monotonic seconds of every agent here: monotonic 0 is this unix time */
export const TIME_EPOCH = 1_700_000_000;
/** the monotonic time of the broker's status built by statusOf */
export const STATUS_NOW = 5000;

/** An agent's view and the age of its block by the broker's clock. */
export interface Published extends AgentView {
  age: number;
}

const storage: StorageHealth = {
  metadataPath: "/md",
  lastReadOkAt: 1,
  lastReadOkMonotonic: STATUS_NOW,
  lastReadError: undefined,
  lastReadErrorAt: undefined,
  consecutiveReadFailures: 0,
  readErrors: 0,
  lastWriteOkAt: 1,
  lastWriteError: undefined,
  lastWriteErrorAt: undefined,
  writeErrors: 0,
  writesRefused: 0,
  pending: [],
  inFlightSince: undefined,
  leaseHeld: true,
  leaseError: undefined,
  volumeShort: undefined,
};

/**
 * The broker status of host `localId` at monotonic STATUS_NOW over these published hosts:
 * their agents' blocks, decoded by the same code, and the status builder the broker runs.
 * A host is alive when its block's age is within the default host_alive_timeout.
 */
export function statusOf(
  hosts: readonly Published[],
  localId = 1,
  monitors: Record<string, string> = {},
): { status: BrokerStatus; scores: Map<number, ScoreResult> } {
  const buf = Buffer.alloc(10 * SEGMENT_SIZE);
  encodeGlobalBlock({ maintenance: false, unknown: {} }).copy(buf, 0);
  const scores = new Map<number, ScoreResult>();
  for (const h of hosts) {
    const b = agentBlock(h, STATUS_NOW - h.age);
    b.bytes.copy(buf, h.id * SEGMENT_SIZE);
    scores.set(h.id, b.score);
  }
  const ages = new Map(hosts.map((h) => [h.id, h.age]));
  const status = buildStatus({
    hostId: localId,
    snapshot: decodeWhiteboard(buf),
    pushedAlive: [],
    pushAge: undefined,
    pushFresh: false,
    observedAlive: (id) => (ages.get(id) ?? 1e9) <= DEFAULT_TIMING.host_alive_timeout,
    observedAge: (id) => ages.get(id) ?? null,
    monitors: Object.entries({
      network: "1.0",
      "mgmt-bridge": "True",
      "mem-free": "16384",
      "cpu-load-no-engine": "0.1",
      "engine-health":
        '{"vm": "down", "health": "bad", "detail": "unknown", "reason": "vm not running on this host"}',
      "storage-domain": "True",
      ...monitors,
    }).map(([type, value]) => ({ id: type, type, options: {}, value })),
    storage,
    hasRead: true,
    now: STATUS_NOW,
    cycleSeconds: DEFAULT_TIMING.broker_storage_cycle,
  });
  return { status, scores };
}

/** A machine data with no timer and no failed start. */
export function idle(state: FsmData["state"]): FsmData {
  return { state, timeoutStart: null, retryCount: 0, retryTime: null };
}

/**
 * The block this agent publishes at monotonic `at`, made by the agent's own publish path
 * (hostBlockInput on the step's context), and the score the agent computed for it.
 */
export function agentBlock(
  v: AgentView,
  at: number,
  timeEpoch = TIME_EPOCH,
): { bytes: Buffer; score: ScoreResult } {
  const conf = v.conf ?? DEFAULT_CONF;
  const collection: Collection = {
    collectStart: at,
    collectFinish: at,
    hosts: new Map(),
    globalMaintenance: false,
    tooNew: false,
    local: localStats(v.local),
  };
  const ctx = buildContext(v.id, [collection], {
    scoreConfig: conf.score,
    timing: conf.timing,
    confUpToDate: true,
    vmMemSizeMb: 4096,
  });
  const bytes = encodeHostBlock(
    hostBlockInput({
      hostId: v.id,
      hostname: `host${v.id}.example.com`,
      collection,
      data: v.data,
      ctx,
      confOnSharedStorage: true,
      vmConfRefreshTime: 100,
      timeEpoch: timeEpoch + (v.clockOffset ?? 0),
    }),
  );
  return { bytes, score: stateScore(v.data, ctx) };
}

/**
 * The virtual time of the first line matching `re` in a scenario folder's log.expect:
 * what the simulator measured for that story (e.g. scenarios/failover-kill).
 */
export function scenarioTime(scenario: string, re: RegExp): number {
  const file = path.join(import.meta.dirname, "../../scenarios", scenario, "log.expect");
  const line = readFileSync(file, "utf8")
    .split("\n")
    .find((l) => re.test(l));
  if (line === undefined) throw new Error(`${file}: no line matches ${re}`);
  return Number(line.trim().split(/\s+/)[0]);
}
