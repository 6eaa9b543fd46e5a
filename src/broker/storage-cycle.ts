import { type HostTime, systemTime } from "../common/host-time.js";
import type { Logger } from "../common/log.js";
import { type ThrottledLogger, throttledLogger } from "../common/log-throttle.js";
import { HE_LOCKSPACE } from "../sanlock/names.js";
import { MAX_HOST_ID, SEGMENT_SIZE, WHITEBOARD_BYTES } from "../storage/whiteboard/types.js";
import { ShortVolumeError } from "./metadata-store.js";

/** The metadata volume as the cycle needs it (src/storage/direct-io.ts provides it). */
export interface MetadataStore {
  readonly path: string;
  /**
   * reads every segment from offset 0 (the global block, then hosts 1..2000), handing
   * each to `visit` as a view valid only during the call; resolves with the count read
   */
  scanSegments(visit: (index: number, segment: Buffer) => void): Promise<number>;
  /** one whole segment at `index * 4096`; never touches a neighbour */
  writeSegment(index: number, data: Buffer): Promise<void>;
}

/** Whether this host holds its id in the `hosted-engine` lockspace right now. */
export interface HostIdLease {
  holdsHostId(): Promise<boolean>;
}

/** What the cycle reports after each read and write (metrics hook). */
export interface StorageCycleObserver {
  readDone?(seconds: number, ok: boolean): void;
  /** the non-empty segments of a successful read */
  readData?(segments: Map<number, Buffer>): void;
  writeDone?(seconds: number, ok: boolean): void;
  writeRefused?(hostId: number): void;
  leaseChecked?(held: boolean | undefined): void;
}

export interface StorageCycleOptions {
  store: MetadataStore;
  lease: HostIdLease;
  /** this host's id: the only host segment this broker writes */
  hostId: number;
  /** seconds between cycles (timing.broker_storage_cycle) */
  cycleSeconds: number;
  log: Logger;
  /** the host's clocks and timers (default systemTime; the simulator's virtual time) */
  time?: HostTime;
  /** first retry delay after a failure, seconds (doubles up to cycleSeconds) */
  retryInitialSeconds?: number;
  observer?: StorageCycleObserver;
  /**
   * a failure that repeats (same operation, same message) is logged at most once per
   * this many seconds, with the number held back; default 60
   */
  errorLogIntervalSeconds?: number;
}

/** Storage health as /v1/status reports it; times are wall-clock ms, ages monotonic s. */
export interface StorageHealth {
  metadataPath: string;
  lastReadOkAt: number | undefined;
  lastReadOkMonotonic: number | undefined;
  lastReadError: string | undefined;
  lastReadErrorAt: number | undefined;
  consecutiveReadFailures: number;
  readErrors: number;
  lastWriteOkAt: number | undefined;
  lastWriteError: string | undefined;
  lastWriteErrorAt: number | undefined;
  writeErrors: number;
  writesRefused: number;
  /** host ids whose block is queued and not yet on storage */
  pending: number[];
  /** monotonic seconds the current read or write has been running, if any */
  inFlightSince: number | undefined;
  /** lease as last checked before a host-segment write; undefined = never checked */
  leaseHeld: boolean | undefined;
  leaseError: string | undefined;
  /** the metadata volume is shorter than the whiteboard (its size and what it needs) */
  volumeShort: { size: number; required: number } | undefined;
}

export class SegmentSizeError extends Error {
  override name = "SegmentSizeError";
}

/**
 * Collects the non-empty segments (first byte not NUL) of a read, each a copy that shares
 * no memory with the read buffer. A segment equal to the one of the same index in
 * `previous` is kept as that buffer instead of a new copy, so a quiet whiteboard costs
 * no allocation per read.
 */
export class SegmentCollector {
  readonly segments = new Map<number, Buffer>();

  constructor(private readonly previous?: ReadonlyMap<number, Buffer>) {}

  add(index: number, segment: Buffer): void {
    if (index > MAX_HOST_ID || segment.length === 0 || segment[0] === 0) return;
    const same = this.previous?.get(index);
    this.segments.set(index, same?.equals(segment) ? same : Buffer.from(segment));
  }
}

/** The non-empty segments of a whole whiteboard in one buffer (see SegmentCollector). */
export function nonEmptySegments(
  buf: Buffer,
  previous?: ReadonlyMap<number, Buffer>,
): Map<number, Buffer> {
  const c = new SegmentCollector(previous);
  const count = Math.floor(buf.length / SEGMENT_SIZE);
  for (let i = 0; i < count; i++) {
    c.add(i, buf.subarray(i * SEGMENT_SIZE, (i + 1) * SEGMENT_SIZE));
  }
  return c.segments;
}

/** NUL-pads a block to one segment; a block larger than a segment is refused. */
export function padSegment(data: Buffer, hostId: number): Buffer {
  if (data.length > SEGMENT_SIZE) {
    throw new SegmentSizeError(
      `block for host ${hostId} is ${data.length} bytes; a segment holds ${SEGMENT_SIZE}`,
    );
  }
  const out = Buffer.alloc(SEGMENT_SIZE);
  data.copy(out);
  return out;
}

/**
 * The broker's whiteboard cycle (behaviour.md §3, issue 3): every `cycleSeconds` and at
 * once after a put, write the newest queued block of this host (only while the lease
 * is held) and of the global segment (always), then read every segment. The last good
 * read is kept for the API; failures are recorded, logged (a repeating one once a
 * minute, with the count held back) and retried with backoff; the cycle never throws
 * and never runs twice at once.
 */
export class StorageCycle {
  private readonly time: HostTime;
  private readonly pending = new Map<number, Buffer>();
  private segs = new Map<number, Buffer>();
  private version = 0;
  private timer: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private retryDelay: number;
  private readonly listeners = new Set<() => void>();
  private started = 0;
  private finished = 0;
  private readonly h: StorageHealth;
  /** repeated storage and lease errors: first at once, then once per interval */
  private readonly tlog: ThrottledLogger;

  constructor(private readonly opts: StorageCycleOptions) {
    this.time = opts.time ?? systemTime;
    const time = this.time;
    this.tlog = throttledLogger(opts.log, {
      intervalMs: (opts.errorLogIntervalSeconds ?? 60) * 1000,
      now: () => time.now() * 1000,
    });
    this.retryDelay = opts.retryInitialSeconds ?? 1;
    this.h = {
      metadataPath: opts.store.path,
      lastReadOkAt: undefined,
      lastReadOkMonotonic: undefined,
      lastReadError: undefined,
      lastReadErrorAt: undefined,
      consecutiveReadFailures: 0,
      readErrors: 0,
      lastWriteOkAt: undefined,
      lastWriteError: undefined,
      lastWriteErrorAt: undefined,
      writeErrors: 0,
      writesRefused: 0,
      pending: [],
      inFlightSince: undefined,
      leaseHeld: undefined,
      leaseError: undefined,
      volumeShort: undefined,
    };
  }

  /** Starts cycling now. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.kick();
  }

  /**
   * Stops the schedule and waits for a running cycle to end, at most `waitMs` (storage
   * that hangs must not hold up a shutdown; the I/O finishes or fails on its own).
   */
  async stop(waitMs = 5000): Promise<void> {
    this.stopped = true;
    this.timer?.();
    this.timer = undefined;
    if (!this.running) return;
    let cancel = () => {};
    await Promise.race([
      this.running,
      new Promise<void>((resolve) => {
        cancel = this.time.after(waitMs / 1000, resolve);
      }),
    ]);
    cancel();
  }

  /**
   * Queues a block for `hostId` (this host or 0); only the newest per host is kept. The
   * current view answers it at once, as the original broker did. Throws SegmentSizeError
   * for a block larger than a segment.
   */
  put(hostId: number, data: Buffer): void {
    const seg = padSegment(data, hostId);
    this.pending.set(hostId, seg);
    this.changed();
    this.kick();
  }

  /** Runs a cycle as soon as possible (after the running one). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.timer?.();
    this.timer = undefined;
    this.running = this.cycle().finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        this.kick();
      } else {
        this.schedule();
      }
    });
  }

  /** Resolves after a cycle that started after this call has ended (tests, fresh data). */
  nextCycle(): Promise<void> {
    const wanted = this.started + 1;
    return new Promise((resolve) => {
      const done = () => {
        if (this.finished < wanted) return;
        this.listeners.delete(done);
        resolve();
      };
      this.listeners.add(done);
      this.kick();
    });
  }

  /**
   * Non-empty segments of the last good read, with queued blocks laid over them: what
   * get_stats answers. Index 0 is the global block.
   */
  segments(): Map<number, Buffer> {
    const out = new Map(this.segs);
    for (const [id, seg] of this.pending) {
      if (seg[0] !== 0) out.set(id, seg);
      else out.delete(id);
    }
    return new Map([...out.entries()].sort((a, b) => a[0] - b[0]));
  }

  /** increases whenever segments() may answer differently */
  get dataVersion(): number {
    return this.version;
  }

  /** Non-empty segments as last read or written: what is on storage, nothing queued. */
  storedSegments(): Map<number, Buffer> {
    return new Map([...this.segs.entries()].sort((a, b) => a[0] - b[0]));
  }

  /** The queued block of `hostId` not yet on storage, if any. */
  pendingBlock(hostId: number): Buffer | undefined {
    return this.pending.get(hostId);
  }

  /** true once a read succeeded */
  get hasRead(): boolean {
    return this.h.lastReadOkAt !== undefined;
  }

  health(): StorageHealth {
    return { ...this.h, pending: [...this.pending.keys()].sort((a, b) => a - b) };
  }

  private changed(): void {
    this.version++;
  }

  private schedule(): void {
    const failing =
      this.h.consecutiveReadFailures > 0 ||
      (this.pending.size > 0 && this.h.lastWriteError !== undefined);
    let delay = this.opts.cycleSeconds;
    if (failing) {
      delay = Math.min(this.retryDelay, this.opts.cycleSeconds);
      this.retryDelay = Math.min(this.retryDelay * 2, this.opts.cycleSeconds);
    } else {
      this.retryDelay = this.opts.retryInitialSeconds ?? 1;
    }
    this.timer = this.time.after(delay, () => {
      this.timer = undefined;
      this.kick();
    });
  }

  private async cycle(): Promise<void> {
    this.started++;
    try {
      // checked every cycle, so status and metrics always show whether the lease is held
      const held = await this.leaseHeld();
      await this.writePending(held);
      await this.read();
    } catch (e) {
      // every step handles its own errors; this is a last guard for the daemon's sake
      this.opts.log.error({ err: e as Error }, "storage cycle failed unexpectedly");
    } finally {
      this.h.inFlightSince = undefined;
      this.finished++;
      for (const l of [...this.listeners]) l();
    }
  }

  private async writePending(held: boolean): Promise<void> {
    for (const [hostId, seg] of [...this.pending]) {
      if (hostId !== 0) {
        if (!held) {
          if (this.pending.get(hostId) === seg) this.pending.delete(hostId);
          this.h.writesRefused++;
          this.opts.observer?.writeRefused?.(hostId);
          this.changed();
          this.tlog.warn(
            "refused",
            { segment: hostId, lockspace: HE_LOCKSPACE },
            "not writing this host's block: the host does not hold its id in the lockspace",
          );
          continue;
        }
      }
      this.h.inFlightSince = this.time.now();
      const started = this.time.now();
      try {
        await this.opts.store.writeSegment(hostId, seg);
        const took = this.time.now() - started;
        this.opts.observer?.writeDone?.(took, true);
        this.h.lastWriteOkAt = this.time.wallMs();
        this.h.lastWriteError = undefined;
        this.tlog.reset(`write:${hostId}`);
        // newer block queued meanwhile stays pending
        if (this.pending.get(hostId) === seg) {
          this.pending.delete(hostId);
          this.segs.set(hostId, seg);
          if (seg[0] === 0) this.segs.delete(hostId);
          // what is on storage changed (segments() answers the same, storedSegments() not)
          this.changed();
        }
        this.opts.log.debug({ segment: hostId, seconds: took }, "whiteboard segment written");
      } catch (e) {
        this.opts.observer?.writeDone?.(this.time.now() - started, false);
        this.noteShort(e);
        this.h.writeErrors++;
        this.h.lastWriteError = (e as Error).message;
        this.h.lastWriteErrorAt = this.time.wallMs();
        this.tlog.error(
          `write:${hostId}`,
          { segment: hostId, path: this.opts.store.path, err: e as Error },
          "cannot write whiteboard segment; will retry",
        );
      } finally {
        this.h.inFlightSince = undefined;
      }
    }
  }

  /** Records (or clears, for any other error) that the volume is too short. */
  private noteShort(e: unknown): void {
    this.h.volumeShort =
      e instanceof ShortVolumeError ? { size: e.size, required: WHITEBOARD_BYTES } : undefined;
  }

  private async leaseHeld(): Promise<boolean> {
    let held: boolean | undefined;
    try {
      held = await this.opts.lease.holdsHostId();
      this.h.leaseError = undefined;
      this.tlog.reset("lease");
      if (held) this.tlog.reset("refused");
    } catch (e) {
      held = undefined;
      this.h.leaseError = (e as Error).message;
      this.tlog.error(
        "lease",
        { lockspace: HE_LOCKSPACE, err: e as Error },
        "cannot inquire the lockspace",
      );
    }
    this.h.leaseHeld = held;
    this.opts.observer?.leaseChecked?.(held);
    return held === true;
  }

  private async read(): Promise<void> {
    this.h.inFlightSince = this.time.now();
    const started = this.time.now();
    try {
      const collector = new SegmentCollector(this.segs);
      await this.opts.store.scanSegments((i, seg) => collector.add(i, seg));
      const took = this.time.now() - started;
      this.opts.observer?.readDone?.(took, true);
      const segs = collector.segments;
      this.opts.observer?.readData?.(segs);
      if (!sameSegments(segs, this.segs)) {
        this.segs = segs;
        this.changed();
      }
      if (this.h.consecutiveReadFailures > 0) {
        this.opts.log.info(
          { path: this.opts.store.path, failures: this.h.consecutiveReadFailures },
          "whiteboard readable again",
        );
      }
      this.h.consecutiveReadFailures = 0;
      this.h.volumeShort = undefined;
      this.tlog.reset("read");
      this.h.lastReadOkAt = this.time.wallMs();
      this.h.lastReadOkMonotonic = this.time.now();
      this.h.lastReadError = undefined;
    } catch (e) {
      this.opts.observer?.readDone?.(this.time.now() - started, false);
      this.noteShort(e);
      this.h.readErrors++;
      this.h.consecutiveReadFailures++;
      this.h.lastReadError = (e as Error).message;
      this.h.lastReadErrorAt = this.time.wallMs();
      this.changed();
      this.tlog.error(
        "read",
        {
          path: this.opts.store.path,
          err: e as Error,
          failures: this.h.consecutiveReadFailures,
        },
        "cannot read the whiteboard; answering from the last good read",
      );
    } finally {
      this.h.inFlightSince = undefined;
    }
  }
}

function sameSegments(a: Map<number, Buffer>, b: Map<number, Buffer>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (!w?.equals(v)) return false;
  }
  return true;
}
