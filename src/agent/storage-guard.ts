import type { Logger } from "../common/log.js";
import { type ThrottledLogger, throttledLogger } from "../common/log-throttle.js";
import {
  MountNotPermittedError,
  type StorageCheck,
  type StorageConnector,
} from "../storage/connect/index.js";

export interface StorageGuardOptions {
  connector: StorageConnector;
  log: Logger;
  /** monotonic seconds */
  clock: () => number;
  /** a storage outage began (why) or ended (null): for notifications and sd_notify STATUS */
  onChange?: (why: string | null) => void;
  /**
   * seconds a mount of ours may answer ENOTCONN before it is detached and mounted again:
   * a live FUSE client reconnects by itself, only a dead one needs it. The agent passes
   * 8 × the sanlock io_timeout: past that sanlock has failed the lockspace anyway
   */
  remountAfterSeconds: number;
}

/**
 * The agent's hold on the storage domain: before the lockspace join and at every loop it
 * looks at the domain (mounted, answering, the right sdUUID) and connects it when it is
 * missing; a mount of ours that keeps answering ENOTCONN past `remountAfterSeconds` is
 * detached and mounted again.
 * The broker's view (storage-domain monitor, whiteboard reads) counts too (`brokerSays`).
 * While anything is wrong the agent makes no decision: it starts nothing and stops
 * nothing, as the original did when it left on StorageDisconnectedError; it resumes by
 * itself once the domain answers again.
 */
export class StorageGuard {
  private readonly tlog: ThrottledLogger;
  /** since when the mount answers ENOTCONN/EIO (monotonic seconds); null while it answers */
  private unreachableSince: number | null = null;
  /** the broker has reported since this host last lost the domain */
  private brokerConfirmed = true;
  private outage: { why: string; since: number } | null = null;
  /** what this host's own look found (connector); null = fine */
  private localWhy: string | null = null;
  /** what the broker reported (storage-domain monitor, whiteboard reads); null = fine */
  private brokerWhy: string | null = null;

  constructor(private readonly o: StorageGuardOptions) {
    this.tlog = throttledLogger(o.log, { intervalMs: 60_000 });
  }

  /** why the domain is unusable now; null while it is fine */
  get problem(): string | null {
    return this.outage?.why ?? null;
  }

  /** seconds since the outage began; 0 without one */
  get outageSeconds(): number {
    return this.outage ? this.o.clock() - this.outage.since : 0;
  }

  /** What the broker reports this loop: null = fine, else why the domain is unusable. */
  brokerSays(why: string | null): void {
    this.brokerWhy = why;
    this.brokerConfirmed = true;
    this.settle();
  }

  /**
   * Looks at the domain and connects it when needed; true when this host reaches it
   * (the broker's view is reported separately: brokerSays).
   */
  async ensure(): Promise<boolean> {
    let seen: StorageCheck = await this.o.connector.check();
    if (seen.state !== "ok") seen = await this.repair(seen);
    if (seen.state === "ok") this.unreachableSince = null;
    else this.brokerConfirmed = false;
    this.localWhy = seen.state === "ok" ? null : seen.why;
    this.settle();
    return seen.state === "ok";
  }

  private settle(): void {
    // back here but not yet read by the broker: the outage lasts until it says so
    const pending = this.brokerConfirmed ? null : (this.outage?.why ?? null);
    const why = this.localWhy ?? this.brokerWhy ?? pending;
    if (why) this.fail(why);
    else this.recovered();
  }

  private async repair(seen: Exclude<StorageCheck, { state: "ok" }>): Promise<StorageCheck> {
    if (seen.state === "wrong-domain") return seen;
    const now = this.o.clock();
    if (seen.state === "unreachable") this.unreachableSince ??= now;
    const remount =
      this.unreachableSince !== null && now - this.unreachableSince >= this.o.remountAfterSeconds;
    // an unreachable mount may come back by itself (a FUSE client reconnects): wait a little
    if (seen.state === "unreachable" && !remount) return seen;
    try {
      const outcome = await this.o.connector.connect({ remountUnreachable: remount });
      this.o.log.info(
        { storage: this.o.connector.description, outcome },
        outcome === "already-connected"
          ? "storage domain answers again"
          : `storage domain ${outcome}`,
      );
      if (outcome === "remounted") this.unreachableSince = null;
      return { state: "ok", domainDir: this.o.connector.domainDir };
    } catch (e) {
      // not root: leave it to the unit's ExecStartPre (the agent exits and is restarted)
      if (e instanceof MountNotPermittedError) throw e;
      this.tlog.error(
        "connect",
        { storage: this.o.connector.description, err: e as Error },
        "cannot connect the storage domain: retrying every loop",
      );
      return { state: seen.state, why: (e as Error).message };
    }
  }

  private fail(why: string): void {
    if (!this.outage) {
      this.outage = { why, since: this.o.clock() };
      this.o.log.error(
        { storage: this.o.connector.description, why },
        "storage domain unusable: no decision (nothing started or stopped) until it is back",
      );
      this.o.onChange?.(why);
    } else if (this.outage.why !== why) {
      this.outage = { ...this.outage, why };
      this.o.onChange?.(why);
    }
    this.tlog.warn("outage", { why }, "storage domain still unusable");
  }

  private recovered(): void {
    if (!this.outage) return;
    const seconds = this.o.clock() - this.outage.since;
    this.outage = null;
    this.tlog.reset("outage");
    this.tlog.reset("connect");
    this.o.log.info({ outage_seconds: Number(seconds.toFixed(1)) }, "storage domain usable again");
    this.o.onChange?.(null);
  }
}

/**
 * Why the broker's view makes the domain unusable, or null: whiteboard reads stale past
 * the limit, or the storage-domain monitor's "False" (a volume not answering a direct
 * read in time: the original's StorageDisconnectedError). Unknown monitor values pass.
 */
export function brokerStorageProblem(
  health: { stale: boolean; last_read_error?: string | null },
  storageDomainMonitor: string | null | undefined,
): string | null {
  if (health.stale)
    return `whiteboard reads stale${health.last_read_error ? `: ${health.last_read_error}` : ""}`;
  if (storageDomainMonitor === "False")
    return "storage-domain monitor: the metadata or lockspace volume does not answer a direct read";
  return null;
}
