/**
 * Timing constants of behaviour.md §13, in seconds. Every one can be overridden in
 * agent.conf `[timing]` (same names, lower-case) so tests and the demo can scale time.
 */
export interface Timing {
  loop_delay: number;
  broker_storage_cycle: number;
  host_alive_timeout: number;
  engine_starting_timeout: number;
  engine_bad_health_timeout: number;
  engine_away_timeout: number;
  vm_unexpected_shutdown_expiration: number;
  engine_retry_expiration: number;
  engine_retry_max_attempts: number;
  history_window: number;
  engine_restart_score_threshold: number;
  domain_monitor_wait: number;
  engine_stop_timeout: number;
  local_maintenance_poll: number;
  cpu_load_sample: number;
  cpu_load_refresh: number;
  hosts_state_ttl: number;
  /** seconds between broker monitor probes (all but the cpu-load ones); the original's 10 */
  monitor_interval: number;
}

export const DEFAULT_TIMING: Readonly<Timing> = Object.freeze({
  loop_delay: 10,
  broker_storage_cycle: 10,
  host_alive_timeout: 60,
  engine_starting_timeout: 600,
  engine_bad_health_timeout: 300,
  engine_away_timeout: 40,
  vm_unexpected_shutdown_expiration: 560,
  engine_retry_expiration: 600,
  engine_retry_max_attempts: 3,
  history_window: 900,
  engine_restart_score_threshold: 800,
  domain_monitor_wait: 240,
  engine_stop_timeout: 300,
  local_maintenance_poll: 2,
  cpu_load_sample: 10,
  cpu_load_refresh: 60,
  hosts_state_ttl: 60,
  monitor_interval: 10,
});

/** Keys that must be above zero: a zero monitor interval would probe in a busy loop. */
const POSITIVE: ReadonlySet<keyof Timing> = new Set<keyof Timing>(["monitor_interval"]);

export class TimingError extends Error {
  override name = "TimingError";
}

/**
 * Applies `[timing]` overrides; an unknown key, a negative number or a zero
 * `monitor_interval` throws TimingError.
 */
export function resolveTiming(overrides: Record<string, string | number | undefined> = {}): Timing {
  const t: Timing = { ...DEFAULT_TIMING };
  for (const [key, raw] of Object.entries(overrides)) {
    if (raw === undefined) continue;
    if (!(key in t)) throw new TimingError(`agent.conf [timing]: unknown key "${key}"`);
    const n = typeof raw === "number" ? raw : Number(String(raw).trim());
    if (!Number.isFinite(n) || n < 0) {
      throw new TimingError(`agent.conf [timing]: ${key}="${raw}" is not a non-negative number`);
    }
    if (n === 0 && POSITIVE.has(key as keyof Timing)) {
      throw new TimingError(`agent.conf [timing]: ${key}="${raw}" must be above 0`);
    }
    t[key as keyof Timing] = n;
  }
  return t;
}
