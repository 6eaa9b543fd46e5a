import type { Logger } from "pino";

/**
 * Rate limiting of repeated log lines, the way the original agent throttles its "score
 * penalty", "metadata error" and "engine health" messages (its log_filter): within one
 * key, a line is emitted when it is the first, when its text differs from the last
 * emitted one, or when the key's interval has passed since the last emission. Lines held
 * back are counted, and the count is reported with the next line emitted for that key.
 */

/** Intervals (ms) the original used for its throttled message classes. */
export const THROTTLE_INTERVALS = Object.freeze({
  /** score penalties (memory, network, bridge, cpu, retries, maintenance) */
  scorePenalty: 60_000,
  /** engine health messages */
  engineHealth: 60_000,
  /** a host's metadata segment cannot be parsed (per host id) */
  metadataError: 900_000,
  /** the global metadata block cannot be parsed */
  globalMetadataError: 900_000,
  /** "in maintenance" reminders */
  maintenance: 900_000,
  /** notification send failures */
  notifyError: 300_000,
  /** best remote host selection */
  bestRemoteHost: 300_000,
  /** OVF_STORE not there / extraction / conversion failed */
  ovf: 300_000,
});

export interface ThrottleDecision {
  /** true: log this line now */
  emit: boolean;
  /** when emitting: how many lines of this key were held back since the last emission */
  suppressed: number;
}

interface KeyState {
  lastEmitMs: number;
  lastMessage: string;
  suppressed: number;
}

export interface LogThrottleOptions {
  /** default interval per key, ms */
  intervalMs: number;
  /** milliseconds from any fixed origin (monotonic preferred); default performance.now */
  now?: () => number;
}

/** The decision part: pure apart from the injected clock. */
export class LogThrottle {
  private readonly keys = new Map<string, KeyState>();
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(opts: LogThrottleOptions) {
    if (!(opts.intervalMs >= 0))
      throw new RangeError(`LogThrottle: intervalMs=${opts.intervalMs} is not >= 0`);
    this.intervalMs = opts.intervalMs;
    this.now = opts.now ?? (() => performance.now());
  }

  /** Decides whether the line `message` of class `key` goes out now; records the outcome. */
  check(key: string, message: string, intervalMs: number = this.intervalMs): ThrottleDecision {
    const now = this.now();
    const state = this.keys.get(key);
    if (state === undefined) {
      this.keys.set(key, { lastEmitMs: now, lastMessage: message, suppressed: 0 });
      return { emit: true, suppressed: 0 };
    }
    if (state.lastMessage !== message || now - state.lastEmitMs >= intervalMs) {
      const suppressed = state.suppressed;
      state.lastEmitMs = now;
      state.lastMessage = message;
      state.suppressed = 0;
      return { emit: true, suppressed };
    }
    state.suppressed += 1;
    return { emit: false, suppressed: state.suppressed };
  }

  /** Forgets a key: its next line is emitted at once (e.g. when the condition cleared). */
  reset(key: string): void {
    this.keys.delete(key);
  }
}

type Level = "debug" | "info" | "warn" | "error";

/** A pino logger whose lines are throttled per key; each method returns whether it logged. */
export interface ThrottledLogger {
  debug(key: string, fields: Record<string, unknown>, msg: string, intervalMs?: number): boolean;
  info(key: string, fields: Record<string, unknown>, msg: string, intervalMs?: number): boolean;
  warn(key: string, fields: Record<string, unknown>, msg: string, intervalMs?: number): boolean;
  error(key: string, fields: Record<string, unknown>, msg: string, intervalMs?: number): boolean;
  reset(key: string): void;
}

/**
 * Wraps `logger`: identical lines of one key go out at most once per interval; the next
 * line emitted for that key carries `suppressed: N` when N lines were held back.
 * Only the message text decides "identical" (fields such as timestamps may differ).
 */
export function throttledLogger(logger: Logger, opts: LogThrottleOptions): ThrottledLogger {
  const throttle = new LogThrottle(opts);
  const at =
    (level: Level) =>
    (key: string, fields: Record<string, unknown>, msg: string, intervalMs?: number): boolean => {
      const d = throttle.check(key, msg, intervalMs);
      if (!d.emit) return false;
      logger[level](d.suppressed > 0 ? { ...fields, suppressed: d.suppressed } : fields, msg);
      return true;
    };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    reset: (key) => throttle.reset(key),
  };
}
