/**
 * Holds back repeats of one notification. While a host retries a start that the VM
 * lease refuses (another host died and its lease is not free yet), its agent goes
 * EngineDown → EngineStart → EngineDown every loop: dozens of identical mails per
 * failover. The first mail of a kind goes out; the same kind again within the interval
 * after it is counted instead of mailed; the next one after the interval goes out
 * saying how many were held back. Pure: time is passed in.
 */
export class RepeatLimiter {
  private readonly last = new Map<string, { sentAt: number; held: number }>();

  /**
   * Whether a notification of kind `key` may be mailed at `nowMs` with `intervalMs`
   * between mails of one kind (0 = every one); when not, it is counted as held back.
   */
  admit(key: string, nowMs: number, intervalMs: number): boolean {
    const seen = this.last.get(key);
    if (intervalMs <= 0 || seen === undefined || nowMs - seen.sentAt >= intervalMs) return true;
    seen.held += 1;
    return false;
  }

  /** How many of kind `key` were held back since its last mail. */
  held(key: string): number {
    return this.last.get(key)?.held ?? 0;
  }

  /** Records a mail of kind `key` that went out at `nowMs`; the held-back count restarts. */
  sent(key: string, nowMs: number): void {
    this.last.set(key, { sentAt: nowMs, held: 0 });
    // kinds are state transitions × hosts: few; drop the oldest beyond a sane bound
    if (this.last.size > 1000) this.last.delete(this.last.keys().next().value as string);
  }
}
