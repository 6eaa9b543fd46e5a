import {
  type EngineStatus,
  type HostBlock,
  METADATA_FEATURE_VERSION,
  METADATA_PARSE_VERSION,
  type WhiteboardSnapshot,
} from "../storage/whiteboard/types.js";
import type { MonitorView } from "./monitor-manager.js";
import type { StorageHealth } from "./storage-cycle.js";

/**
 * The document of `GET /v1/status`: the decoded whiteboard, liveness, this host's
 * monitors, score and lease, and storage health. Metrics are read from this same
 * document, so a scrape and a status call taken together agree. Field names are
 * snake_case; times are unix seconds (wall clock) or ages in seconds (monotonic).
 */
export interface BrokerStatus {
  host_id: number;
  /** global maintenance as on storage */
  global_maintenance: boolean;
  /** a global maintenance value queued and not yet written (null: none queued) */
  global_maintenance_pending: boolean | null;
  global: { maintenance: boolean; unknown: Record<string, string> };
  hosts: HostStatus[];
  decode_errors: Array<{ kind: string; host_id: number; reason: string }>;
  /** a block was written by a newer version: agents must stop managing the VM */
  too_new: boolean;
  liveness: {
    /** ids the local agent pushed, while the push is fresh (what is_host_alive answers) */
    alive: number[];
    push_age_seconds: number | null;
    push_fresh: boolean;
  };
  local: {
    /** this host's score as published in its own block; null without a valid block */
    score: number | null;
    monitors: MonitorView[];
    /** this host holds its id in lockspace hosted-engine; null = never checked / unknown */
    lease_held: boolean | null;
    lease_error: string | null;
  };
  storage: {
    metadata_path: string;
    /** a read has succeeded at least once */
    has_read: boolean;
    last_read_ok: number | null;
    last_read_age_seconds: number | null;
    last_read_error: string | null;
    last_read_error_at: number | null;
    consecutive_read_failures: number;
    read_errors_total: number;
    last_write_ok: number | null;
    last_write_error: string | null;
    last_write_error_at: number | null;
    write_errors_total: number;
    writes_refused_total: number;
    pending_host_ids: number[];
    in_flight_seconds: number | null;
    /** the metadata volume is shorter than the whiteboard: not read, not written */
    volume_short: { size: number; required: number } | null;
    /** queued blocks whose last write attempt failed */
    writes_failing: boolean;
    /**
     * no good read for more than 3 storage cycles (or none yet), or the volume is short:
     * the view may be old or incomplete, agents make no decision on it
     */
    stale: boolean;
  };
}

export interface HostStatus {
  host_id: number;
  hostname: string;
  score: number;
  /** the writer's monotonic seconds */
  timestamp: number;
  engine_status: EngineStatus | null;
  engine_status_raw: string;
  local_maintenance: boolean;
  stopped: boolean;
  crc32: string;
  conf_on_shared_storage: boolean;
  vm_conf_refresh_time: number;
  /** the agent's state (extra `state=` line), "" when absent */
  state: string;
  extra: Record<string, string>;
  /** in the local agent's fresh push (hosted-engine's "Status up-to-date") */
  alive: boolean;
  /** its timestamp changed within host_alive_timeout by our own clock */
  timestamp_changing: boolean;
  /** seconds since this broker saw its timestamp change; null = not since the broker started */
  updated_age_seconds: number | null;
}

export interface StatusInput {
  hostId: number;
  /** the whiteboard as on storage */
  snapshot: WhiteboardSnapshot;
  /** global maintenance queued and not yet written */
  pendingGlobalMaintenance?: boolean;
  pushedAlive: number[];
  pushAge: number | undefined;
  pushFresh: boolean;
  observedAlive: (hostId: number) => boolean;
  /** seconds since the host's timestamp was seen changing, null when not seen (default: null) */
  observedAge?: (hostId: number) => number | null;
  monitors: MonitorView[];
  storage: StorageHealth;
  hasRead: boolean;
  /** monotonic now, for ages */
  now: number;
  /** timing.broker_storage_cycle, to call the last read stale */
  cycleSeconds: number;
}

const secs = (ms: number | undefined): number | null => (ms === undefined ? null : ms / 1000);

/**
 * Pure: whether the broker's view of the whiteboard is too old to decide on — the
 * volume is short, or no read succeeded in the last 3 storage cycles.
 */
export function isStale(h: StorageHealth, now: number, cycleSeconds: number): boolean {
  return (
    h.volumeShort !== undefined ||
    h.lastReadOkMonotonic === undefined ||
    now - h.lastReadOkMonotonic > 3 * cycleSeconds
  );
}

/** Pure: assembles the status document. */
export function buildStatus(input: StatusInput): BrokerStatus {
  const { snapshot, storage: h } = input;
  const alive = new Set(input.pushedAlive);
  const hosts: HostStatus[] = [...snapshot.hosts.values()]
    .sort((a, b) => a.hostId - b.hostId)
    .map((b) => ({
      host_id: b.hostId,
      hostname: b.hostname,
      score: b.score,
      timestamp: b.timestamp,
      engine_status: b.engineStatus ?? null,
      engine_status_raw: b.engineStatusRaw,
      local_maintenance: b.maintenance,
      stopped: b.stopped,
      crc32: b.crc32,
      conf_on_shared_storage: b.confOnSharedStorage,
      vm_conf_refresh_time: b.vmConfRefreshTime,
      state: b.extra.state ?? "",
      extra: { ...b.extra },
      alive: alive.has(b.hostId),
      timestamp_changing: input.observedAlive(b.hostId),
      updated_age_seconds: input.observedAge?.(b.hostId) ?? null,
    }));
  const own = snapshot.hosts.get(input.hostId);
  return {
    host_id: input.hostId,
    global_maintenance: snapshot.global.maintenance,
    global_maintenance_pending: input.pendingGlobalMaintenance ?? null,
    global: { maintenance: snapshot.global.maintenance, unknown: { ...snapshot.global.unknown } },
    hosts,
    decode_errors: snapshot.errors.map((e) => ({
      kind: e.kind,
      host_id: e.hostId,
      reason: e.reason,
    })),
    too_new: snapshot.tooNew,
    liveness: {
      alive: [...input.pushedAlive],
      push_age_seconds: input.pushAge ?? null,
      push_fresh: input.pushFresh,
    },
    local: {
      score: own ? own.score : null,
      monitors: input.monitors,
      lease_held: h.leaseHeld ?? null,
      lease_error: h.leaseError ?? null,
    },
    storage: {
      metadata_path: h.metadataPath,
      has_read: input.hasRead,
      last_read_ok: secs(h.lastReadOkAt),
      last_read_age_seconds:
        h.lastReadOkMonotonic === undefined ? null : input.now - h.lastReadOkMonotonic,
      last_read_error: h.lastReadError ?? null,
      last_read_error_at: secs(h.lastReadErrorAt),
      consecutive_read_failures: h.consecutiveReadFailures,
      read_errors_total: h.readErrors,
      last_write_ok: secs(h.lastWriteOkAt),
      last_write_error: h.lastWriteError ?? null,
      last_write_error_at: secs(h.lastWriteErrorAt),
      write_errors_total: h.writeErrors,
      writes_refused_total: h.writesRefused,
      pending_host_ids: h.pending,
      in_flight_seconds: h.inFlightSince === undefined ? null : input.now - h.inFlightSince,
      volume_short: h.volumeShort ?? null,
      writes_failing: h.pending.length > 0 && h.lastWriteError !== undefined,
      stale: isStale(h, input.now, input.cycleSeconds),
    },
  };
}

/**
 * A host of the broker's status document back as the decoded block it came from. The
 * document carries no metadata versions: a block the broker decoded is one our version reads.
 */
export function hostBlockOf(h: HostStatus): HostBlock {
  return {
    parseVersion: METADATA_PARSE_VERSION,
    featureVersion: METADATA_FEATURE_VERSION,
    timestamp: h.timestamp,
    hostId: h.host_id,
    score: h.score,
    engineStatusRaw: h.engine_status_raw,
    engineStatus: h.engine_status ?? undefined,
    hostname: h.hostname,
    maintenance: h.local_maintenance,
    stopped: h.stopped,
    crc32: h.crc32,
    confOnSharedStorage: h.conf_on_shared_storage,
    vmConfRefreshTime: h.vm_conf_refresh_time,
    extra: h.extra,
  };
}
