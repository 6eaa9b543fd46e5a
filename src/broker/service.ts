import type { Logger } from "../common/log.js";
import type { Timing } from "../common/timing.js";
import { HE_LOCKSPACE } from "../sanlock/names.js";
import { SEGMENT_SIZE, type WhiteboardSnapshot } from "../storage/whiteboard/types.js";
import type { CollectDoc } from "./agent-wire.js";
import type { BrokerEnv, Notifier } from "./env.js";
import { brokerResetBlockers } from "./lockspace-guard.js";
import { MonitorManager } from "./monitor-manager.js";
import { ObservedLiveness, PushedHostsState } from "./state/hosts-state.js";
import { ObservedDurations, type ObservedDurationsDoc } from "./state/observed-durations.js";
import { type BrokerStatus, buildStatus, isStale } from "./status.js";
import { StorageCycle } from "./storage-cycle.js";

/** Whole-whiteboard decoder (src/storage/whiteboard decodeWhiteboard). */
export type WhiteboardDecoder = (buf: Buffer) => WhiteboardSnapshot;
/** Global block encoder (src/storage/whiteboard encodeGlobalBlock). */
export type GlobalBlockEncoder = (block: WhiteboardSnapshot["global"]) => Buffer;

export class NotThisHostError extends Error {
  override name = "NotThisHostError";
}

export interface BrokerServiceOptions {
  hostId: number;
  timing: Pick<Timing, "broker_storage_cycle" | "host_alive_timeout" | "hosts_state_ttl">;
  /** time, storage, sanlock, monitors and mail of the host (or of a simulated one) */
  env: BrokerEnv;
  decode: WhiteboardDecoder;
  encodeGlobal: GlobalBlockEncoder;
  log: Logger;
  /** first storage retry delay in seconds (default 1) */
  retryInitialSeconds?: number;
  /** extra hooks for metrics */
  onRead?: (seconds: number, ok: boolean) => void;
  onWrite?: (seconds: number, ok: boolean) => void;
}

/**
 * Everything the broker answers, independent of the transport: the whiteboard cycle,
 * the pushed liveness, monitors, notifications and the lockspace. The XML-RPC and JSON
 * routes are thin layers over this.
 */
export class BrokerService {
  readonly hostId: number;
  readonly cycle: StorageCycle;
  readonly monitors: MonitorManager;
  readonly notifier: Notifier;
  private readonly clock: BrokerEnv["time"];
  private readonly pushed: PushedHostsState;
  private readonly observed: ObservedLiveness;
  private readonly durations = new ObservedDurations();
  private decoded: { version: number; snapshot: WhiteboardSnapshot } | undefined;
  private decodedStored: { version: number; snapshot: WhiteboardSnapshot } | undefined;
  private encodedStats: { version: number; stats: Record<string, string> } | undefined;
  /** the host timestamps of the last read, and the segments they were decoded from */
  private lastRead: { segs: Map<number, Buffer>; timestamps: Map<number, number> } | undefined;

  constructor(private readonly opts: BrokerServiceOptions) {
    this.hostId = opts.hostId;
    const env = opts.env;
    this.clock = env.time;
    this.monitors = new MonitorManager(env.monitors, opts.log);
    this.notifier = env.notifier;
    this.pushed = new PushedHostsState(opts.timing.hosts_state_ttl);
    this.observed = new ObservedLiveness(opts.timing.host_alive_timeout);
    this.cycle = new StorageCycle({
      store: env.store,
      lease: env.lockspace,
      hostId: opts.hostId,
      cycleSeconds: opts.timing.broker_storage_cycle,
      log: opts.log,
      time: env.time,
      retryInitialSeconds: opts.retryInitialSeconds,
      observer: {
        readDone: (s, ok) => opts.onRead?.(s, ok),
        writeDone: (s, ok) => opts.onWrite?.(s, ok),
        readData: (segs) => this.observeRead(segs),
      },
    });
  }

  start(): void {
    this.cycle.start();
  }

  async stop(): Promise<void> {
    await this.cycle.stop();
    await this.monitors.stopAll();
  }

  /** get_stats: every non-empty segment (0 = global) as its 4096 bytes, by host id. */
  stats(): Map<number, Buffer> {
    return this.cycle.segments();
  }

  /**
   * put_stats: queues a block for this host or the global segment (0). Other host ids
   * are refused: this broker writes only its own segment.
   */
  putStats(hostId: number, data: Buffer): void {
    if (hostId !== 0 && hostId !== this.hostId) {
      throw new NotThisHostError(
        `host ${hostId} is not this host (${this.hostId}): this broker writes only segment ${this.hostId} and the global block (0)`,
      );
    }
    this.cycle.put(hostId, data);
  }

  /** Sets or clears global maintenance, keeping unknown keys of the global block. */
  setGlobalMaintenance(on: boolean): void {
    const current = this.snapshot().global;
    this.cycle.put(0, this.opts.encodeGlobal({ maintenance: on, unknown: { ...current.unknown } }));
  }

  pushHostsState(ids: number[]): void {
    this.pushed.push(ids, this.clock.now());
  }

  isHostAlive(): number[] {
    return this.pushed.alive(this.clock.now());
  }

  /** The decoded view of stats() (cached until the data changes). */
  snapshot(): WhiteboardSnapshot {
    const version = this.cycle.dataVersion;
    if (this.decoded?.version !== version) {
      this.decoded = { version, snapshot: this.opts.decode(joinSegments(this.cycle.segments())) };
    }
    return this.decoded.snapshot;
  }

  /** The decoded view of what is on storage only: queued blocks left out. */
  storedSnapshot(): WhiteboardSnapshot {
    const version = this.cycle.dataVersion;
    if (this.decodedStored?.version !== version) {
      const segs = this.cycle.storedSegments();
      this.decodedStored = { version, snapshot: this.opts.decode(joinSegments(segs)) };
    }
    return this.decodedStored.snapshot;
  }

  /** The global maintenance value queued and not yet on storage, if any. */
  pendingGlobalMaintenance(): boolean | undefined {
    const block = this.cycle.pendingBlock(0);
    if (block === undefined) return undefined;
    const seg0 = new Map([[0, block]]);
    return this.opts.decode(joinSegments(seg0)).global.maintenance;
  }

  /**
   * GET /v1/status: what is on storage (never a queued value as if it were there; the
   * queued global maintenance is shown beside it) and the storage health.
   */
  status(): BrokerStatus {
    const now = this.clock.now();
    return buildStatus({
      hostId: this.hostId,
      snapshot: this.storedSnapshot(),
      pendingGlobalMaintenance: this.pendingGlobalMaintenance(),
      pushedAlive: this.pushed.alive(now),
      pushAge: this.pushed.age(now),
      pushFresh: this.pushed.isFresh(now),
      observedAlive: (id) => this.observed.isAlive(id, now),
      observedAge: (id) => this.observed.changedAgo(id, now),
      monitors: this.monitors.list(),
      storage: this.cycle.health(),
      hasRead: this.cycle.hasRead,
      now,
      cycleSeconds: this.opts.timing.broker_storage_cycle,
    });
  }

  /**
   * GET /v1/agent/collect: the parts of /v1/status the agent reads each loop (storage
   * health, the monitors' values) and get_stats, in one answer. The segments' base64
   * is made once per whiteboard change.
   */
  collect(): CollectDoc {
    const h = this.cycle.health();
    const version = this.cycle.dataVersion;
    if (this.encodedStats?.version !== version) {
      const stats: Record<string, string> = {};
      for (const [id, seg] of this.cycle.segments()) stats[String(id)] = seg.toString("base64");
      this.encodedStats = { version, stats };
    }
    return {
      storage: {
        stale: isStale(h, this.clock.now(), this.opts.timing.broker_storage_cycle),
        last_read_error: h.lastReadError ?? null,
      },
      monitors: this.monitors.list().map((m) => ({ id: m.id, value: m.value })),
      stats: this.encodedStats.stats,
    };
  }

  /**
   * Whether another host whose block this broker sees changing reports the engine VM up.
   * A dead host's last "up" does not count. False before the first read.
   */
  engineUpElsewhere(): boolean {
    if (!this.cycle.hasRead) return false;
    const now = this.clock.now();
    for (const [id, b] of this.snapshot().hosts) {
      if (id !== this.hostId && b.engineStatus?.vm === "up" && this.observed.isAlive(id, now))
        return true;
    }
    return false;
  }

  /** How long the engine's start and stop took when this broker last saw them. */
  observedDurations(): ObservedDurationsDoc {
    return this.durations.doc(this.clock.now());
  }

  /** Re-checks the lease now (lock_host_id) and answers whether it is held. */
  async checkLease(): Promise<boolean> {
    return this.opts.env.lockspace.holdsHostId();
  }

  /** Why reset_lockspace must refuse now (src/broker/lockspace-guard.ts); empty when safe. */
  resetBlockers(force: boolean): string[] {
    // only what is on storage: a queued maintenance value other hosts cannot see yet
    const snap = this.storedSnapshot();
    const now = this.clock.now();
    return brokerResetBlockers(
      {
        globalMaintenance: snap.global.maintenance,
        blocks: [...snap.hosts.values()],
        errors: snap.errors,
        hasRead: this.cycle.hasRead,
        observedAlive: (id) => this.observed.isAlive(id, now),
        watchedSeconds: this.observed.watchedFor(now),
        aliveTimeout: this.opts.timing.host_alive_timeout,
      },
      force,
    );
  }

  async resetLockspace(): Promise<void> {
    await this.opts.env.lockspace.reset();
    this.opts.log.warn({ lockspace: HE_LOCKSPACE }, `lockspace ${HE_LOCKSPACE} re-initialised`);
  }

  private observeRead(segs: Map<number, Buffer>): void {
    try {
      // an unchanged whiteboard (the cycle keeps unchanged segments as the same buffers)
      // is not decoded again
      const last = this.lastRead;
      let ts = last && sameBuffers(segs, last.segs) ? last.timestamps : undefined;
      if (ts === undefined) {
        const snap = this.opts.decode(joinSegments(segs));
        ts = new Map<number, number>();
        const states = new Map<number, string>();
        for (const [id, b] of snap.hosts) {
          ts.set(id, b.timestamp);
          states.set(id, b.extra.state ?? "");
        }
        this.lastRead = { segs, timestamps: ts };
        this.durations.observe(states, this.clock.now());
      }
      this.observed.observe(ts, this.clock.now());
    } catch (e) {
      this.opts.log.error({ err: e as Error }, "cannot decode the whiteboard");
    }
  }
}

/** true when both maps hold the very same buffers under the same ids */
function sameBuffers(a: Map<number, Buffer>, b: Map<number, Buffer>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, seg] of a) if (b.get(id) !== seg) return false;
  return true;
}

/** Segments back into one whiteboard buffer (empty ones NUL), for the decoder. */
export function joinSegments(segs: Map<number, Buffer>): Buffer {
  let max = 0;
  for (const id of segs.keys()) max = Math.max(max, id);
  const buf = Buffer.alloc((max + 1) * SEGMENT_SIZE);
  for (const [id, seg] of segs) seg.copy(buf, id * SEGMENT_SIZE, 0, SEGMENT_SIZE);
  return buf;
}
