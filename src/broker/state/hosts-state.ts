/**
 * The list of live host ids pushed by the local agent (`push_hosts_state`), reported by
 * `is_host_alive` for `ttl` seconds after the push, then `[]` (behaviour.md §3, §7).
 * Times are the broker's own monotonic seconds.
 */
export class PushedHostsState {
  private ids: number[] = [];
  private pushedAt: number | undefined;

  constructor(private readonly ttl: number) {}

  push(ids: readonly number[], now: number): void {
    this.ids = [...new Set(ids)].sort((a, b) => a - b);
    this.pushedAt = now;
  }

  /** the pushed ids while the push is fresh, else [] */
  alive(now: number): number[] {
    return this.isFresh(now) ? [...this.ids] : [];
  }

  isFresh(now: number): boolean {
    return this.pushedAt !== undefined && now - this.pushedAt <= this.ttl;
  }

  /** seconds since the last push, undefined before the first */
  age(now: number): number | undefined {
    return this.pushedAt === undefined ? undefined : now - this.pushedAt;
  }
}

/**
 * Liveness as this broker observes it on the whiteboard (behaviour.md §3): a host is
 * alive when its block's timestamp changed within `timeout` seconds of our own clock;
 * until we have `timeout` seconds of history, nobody is. A host that appears after our
 * first read counts as a change at the time we first saw it.
 */
export class ObservedLiveness {
  private firstReadAt: number | undefined;
  private readonly seen = new Map<number, { timestamp: number; changedAt: number }>();

  constructor(private readonly timeout: number) {}

  /** Records one successful whiteboard read: host id → block timestamp. */
  observe(timestamps: ReadonlyMap<number, number>, now: number): void {
    const first = this.firstReadAt === undefined;
    if (first) this.firstReadAt = now;
    for (const [id, ts] of timestamps) {
      const prev = this.seen.get(id);
      if (!prev)
        this.seen.set(id, { timestamp: ts, changedAt: first ? Number.NEGATIVE_INFINITY : now });
      else if (prev.timestamp !== ts) this.seen.set(id, { timestamp: ts, changedAt: now });
    }
    for (const id of this.seen.keys()) if (!timestamps.has(id)) this.seen.delete(id);
  }

  /** seconds since the first read (0 before it) */
  watchedFor(now: number): number {
    return this.firstReadAt === undefined ? 0 : now - this.firstReadAt;
  }

  /**
   * Seconds since this broker saw the host's timestamp change; null when it has not seen
   * it change since its first read (a host dead before the broker started, or too early).
   */
  changedAgo(hostId: number, now: number): number | null {
    const s = this.seen.get(hostId);
    if (s === undefined || !Number.isFinite(s.changedAt)) return null;
    return Math.max(0, now - s.changedAt);
  }

  isAlive(hostId: number, now: number): boolean {
    if (this.firstReadAt === undefined || now - this.firstReadAt < this.timeout) return false;
    const s = this.seen.get(hostId);
    return s !== undefined && now - s.changedAt <= this.timeout;
  }
}
