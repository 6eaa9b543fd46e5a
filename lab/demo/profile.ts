import { DEFAULT_TIMING, type Timing } from "../../src/common/timing.js";

/**
 * The demo's timing profile: production timings scaled by the same factor as sanlock's
 * I/O timeout (10 s in production, 1 s here), so every ratio of behaviour.md §13 holds
 * and a failover takes seconds instead of minutes.
 */
export const PRODUCTION_IO_TIMEOUT = 10;
/** sanlock's fixed delay between a host missing renewals and its leases becoming free */
export const SANLOCK_WATCHDOG_FIRE_SECONDS = 60;

export interface DemoProfile {
  ioTimeout: number;
  scale: number;
  timing: Timing;
  /**
   * When sanlock lets another host take a dead host's leases: 8 × io_timeout without
   * delta-lease renewal plus sanlock's fixed 60 s watchdog-fire delay (sanlock 3.8.5;
   * behaviour.md §12 leaves the 60 s out). 68 s here, 140 s in production.
   */
  hostDeadSeconds: number;
}

/** Attempt counts and score thresholds are not times: they are never scaled. */
const NOT_TIMES = new Set<keyof Timing>([
  "engine_retry_max_attempts",
  "engine_restart_score_threshold",
]);

export function demoProfile(ioTimeout = 1): DemoProfile {
  const scale = ioTimeout / PRODUCTION_IO_TIMEOUT;
  const timing = { ...DEFAULT_TIMING } as Timing;
  for (const key of Object.keys(timing) as Array<keyof Timing>) {
    if (!NOT_TIMES.has(key)) timing[key] = Number((DEFAULT_TIMING[key] * scale).toFixed(3));
  }
  return {
    ioTimeout,
    scale,
    timing,
    hostDeadSeconds: 8 * ioTimeout + SANLOCK_WATCHDOG_FIRE_SECONDS,
  };
}

/** agent.conf text carrying the profile's `[timing]` section. */
export function agentConfText(profile: DemoProfile): string {
  let s =
    "# written by the demo (lab/demo): production timings scaled to the demo's sanlock io_timeout\n[timing]\n";
  for (const [k, v] of Object.entries(profile.timing)) s += `${k}=${v}\n`;
  return s;
}
