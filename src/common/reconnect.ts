/**
 * One connection attempt at a time, with exponential back-off between failed attempts
 * (first `minBackoffMs`, doubling up to `maxBackoffMs`): while backing off, `open`
 * throws at once with the last error and the wait left. Shared by the libvirt and VDSM
 * connections.
 */
export interface ReconnectOptions {
  minBackoffMs: number;
  maxBackoffMs: number;
  /** the error to throw with a reason (the connection's own "unavailable" error) */
  unavailable: (reason: string) => Error;
  /** a failed attempt, with the delay before the next */
  onFailure?: (err: unknown, retryMs: number) => void;
  /** an attempt succeeded after failures */
  onRecovered?: () => void;
}

export class Reconnect<T> {
  private opening: Promise<T> | null = null;
  private backoffMs = 0;
  private nextAttemptAt = 0;
  private lastError = "";

  constructor(private readonly o: ReconnectOptions) {}

  /** Runs `attempt` (or joins the one under way), unless backing off. */
  async open(attempt: () => Promise<T>): Promise<T> {
    if (this.opening) return this.opening;
    const wait = this.nextAttemptAt - Date.now();
    if (wait > 0) throw this.o.unavailable(`${this.lastError}; next reconnect in ${wait} ms`);
    this.opening = this.run(attempt);
    try {
      return await this.opening;
    } finally {
      this.opening = null;
    }
  }

  private async run(attempt: () => Promise<T>): Promise<T> {
    let value: T;
    try {
      value = await attempt();
    } catch (err) {
      this.backoffMs = Math.min(
        this.o.maxBackoffMs,
        this.backoffMs === 0 ? this.o.minBackoffMs : this.backoffMs * 2,
      );
      this.nextAttemptAt = Date.now() + this.backoffMs;
      this.lastError = err instanceof Error ? err.message : String(err);
      this.o.onFailure?.(err, this.backoffMs);
      throw err;
    }
    if (this.backoffMs > 0) this.o.onRecovered?.();
    this.backoffMs = 0;
    this.nextAttemptAt = 0;
    return value;
  }
}
