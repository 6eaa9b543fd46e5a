import type { Logger } from "../../common/log.js";

/**
 * Logs a recurring failure at most once per period per key, with the number of repeats
 * that were held back, so a broken probe does not flood the journal.
 */
export class ThrottledLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly periodMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  info(key: string, fields: Record<string, unknown>, msg: string): void {
    this.emit("info", key, fields, msg);
  }

  warn(key: string, fields: Record<string, unknown>, msg: string): void {
    this.emit("warn", key, fields, msg);
  }

  error(key: string, fields: Record<string, unknown>, msg: string): void {
    this.emit("error", key, fields, msg);
  }

  /** Forgets a key, so the next failure after a recovery is logged at once. */
  clear(key: string): void {
    this.last.delete(key);
  }

  private emit(
    level: "info" | "warn" | "error",
    key: string,
    fields: Record<string, unknown>,
    msg: string,
  ): void {
    const t = this.now();
    const seen = this.last.get(key);
    if (seen && t - seen.at < this.periodMs) {
      seen.suppressed += 1;
      return;
    }
    const repeated = seen?.suppressed ?? 0;
    this.last.set(key, { at: t, suppressed: 0 });
    this.log[level](repeated > 0 ? { ...fields, repeated } : fields, msg);
  }
}
