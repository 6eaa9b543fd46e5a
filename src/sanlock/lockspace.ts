/**
 * The hosted-engine sanlock lockspace (behaviour.md §12): join (add_lockspace) with this
 * host's id, check it (inq_lockspace), leave it (rem_lockspace). Calls run on koffi
 * worker threads; the daemon is the one SANLOCK_RUN_DIR points at (default /run/sanlock).
 */
import type { Logger } from "../common/log.js";
import type { SectorGeometry } from "../common/sector-geometry.js";
import { LockspaceIdConflictError, LockspaceJoinError, SanlockError } from "./errors.js";
import {
  callAsync,
  describeRv,
  Errno,
  lockspaceValue,
  SANLK_CONFIG_USED_BY_ORPHANS,
  SANLK_REM_UNUSED,
  SanlockRv,
  sanlockNative,
} from "./native.js";
import { geometryFlags } from "./sector-flags.js";

export interface LockspaceSpec {
  /** lockspace name, `hosted-engine` for HA */
  name: string;
  hostId: number;
  /** lockspace volume path */
  path: string;
  /** byte offset of the lockspace on the volume (0 for HA) */
  offset: number;
  /** seconds; 0 or absent = the daemon's default (10 s) */
  ioTimeout?: number;
  /** the domain's sector size and alignment (absent: sanlock reads the leader's) */
  geometry?: SectorGeometry;
}

function lockspaceOf(spec: LockspaceSpec) {
  return lockspaceValue(
    spec.name,
    spec.hostId,
    spec.path,
    spec.offset,
    geometryFlags(spec.geometry),
  );
}

export interface LockspaceOptions {
  log: Logger;
  /** add_lockspace attempts before giving up (default 5) */
  attempts?: number;
  /** delay between attempts in ms (default 5000) */
  retryDelayMs?: number;
  /** how to wait between attempts (tests inject a fake) */
  sleep?: (ms: number) => Promise<void>;
}

export type JoinResult = "joined" | "already-joined";
export type LeaveResult = "left" | "not-joined" | "busy";

/** return codes after which add_lockspace is tried again */
const RETRIED = new Set<number>([
  -Errno.EINTR,
  -Errno.EINPROGRESS,
  -Errno.ENOENT,
  -Errno.ENODEV,
  -Errno.EAGAIN,
  -Errno.ECONNREFUSED,
  SanlockRv.AIO_TIMEOUT,
  SanlockRv.HOSTID_BUSY,
]);

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Lockspace {
  private readonly log: Logger;
  private readonly attempts: number;
  private readonly retryDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(opts: LockspaceOptions) {
    this.log = opts.log;
    this.attempts = opts.attempts ?? 5;
    this.retryDelayMs = opts.retryDelayMs ?? 5000;
    this.sleep = opts.sleep ?? defaultSleep;
  }

  /**
   * Joins the lockspace. EEXIST = already joined (fine). EINVAL = this daemon holds it
   * with another id: LockspaceIdConflictError. EINTR/EINPROGRESS/ENOENT (and a missing
   * volume, a daemon not yet up, a storage timeout) are retried; other errors throw SanlockError.
   * Once joined, orphaned resource leases count as "using" the lockspace, so leaving it
   * with the engine VM's lease still held is refused instead of silently freeing it.
   */
  async addLockspace(spec: LockspaceSpec): Promise<JoinResult> {
    const native = sanlockNative();
    const ls = lockspaceOf(spec);
    const fields = { lockspace: spec.name, host_id: spec.hostId, path: spec.path };
    let lastRv = 0;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      const started = Date.now();
      const rv = await callAsync(native.addLockspaceTimeout, ls, 0, spec.ioTimeout ?? 0);
      if (rv === 0 || rv === -Errno.EEXIST) {
        const result: JoinResult = rv === 0 ? "joined" : "already-joined";
        this.log.info({ ...fields, ms: Date.now() - started, result }, "sanlock lockspace held");
        await this.markUsedByOrphans(spec.name);
        return result;
      }
      if (rv === -Errno.EINVAL) {
        const err = new LockspaceIdConflictError(spec.name, spec.hostId, spec.path);
        this.log.error({ ...fields }, err.message);
        throw err;
      }
      if (!RETRIED.has(rv)) {
        throw new SanlockError("add_lockspace", rv, `${spec.name}:${spec.hostId}:${spec.path}`);
      }
      lastRv = rv;
      this.log.warn(
        { ...fields, attempt, of: this.attempts, rv, reason: describeRv(rv) },
        "cannot join sanlock lockspace yet, will retry",
      );
      if (attempt < this.attempts) await this.sleep(this.retryDelayMs);
    }
    throw new LockspaceJoinError(spec.name, spec.hostId, this.attempts, lastRv);
  }

  /** true when the daemon holds the lockspace with this id (a join in progress = false). */
  async inqLockspace(spec: LockspaceSpec): Promise<boolean> {
    const native = sanlockNative();
    const rv = await callAsync(native.inqLockspace, lockspaceOf(spec), 0);
    if (rv === 0) return true;
    if (rv === -Errno.ENOENT || rv === -Errno.EINPROGRESS || rv === -Errno.ECONNREFUSED) {
      return false;
    }
    throw new SanlockError("inq_lockspace", rv, `${spec.name}:${spec.hostId}:${spec.path}`);
  }

  /**
   * Leaves the lockspace, but never while a resource lease in it is held (by a process or
   * as an orphan): then the daemon answers EBUSY and the result is "busy" — the delta
   * lease stays, so no other host can take the engine VM lease while the VM runs here.
   */
  async remLockspace(spec: LockspaceSpec): Promise<LeaveResult> {
    const native = sanlockNative();
    const rv = await callAsync(native.remLockspace, lockspaceOf(spec), SANLK_REM_UNUSED);
    const fields = { lockspace: spec.name, host_id: spec.hostId };
    if (rv === 0) {
      this.log.info(fields, "left sanlock lockspace");
      return "left";
    }
    if (rv === -Errno.ENOENT || rv === -Errno.ECONNREFUSED) return "not-joined";
    if (rv === -Errno.EINPROGRESS) return "left";
    if (rv === -Errno.EBUSY) {
      this.log.info(fields, "sanlock lockspace kept: a resource lease (engine VM) is held in it");
      return "busy";
    }
    throw new SanlockError("rem_lockspace", rv, `${spec.name}:${spec.hostId}:${spec.path}`);
  }

  private async markUsedByOrphans(name: string): Promise<void> {
    const rv = await callAsync(
      sanlockNative().setConfig,
      name,
      0,
      SANLK_CONFIG_USED_BY_ORPHANS,
      null,
    );
    if (rv !== 0) {
      this.log.warn({ lockspace: name, rv: describeRv(rv) }, "cannot set USED_BY_ORPHANS");
    }
  }
}
