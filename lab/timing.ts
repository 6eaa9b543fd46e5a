import { DEFAULT_TIMING, type Timing } from "../src/common/timing.js";
import { hostDeadSeconds } from "../src/sanlock/timeouts.js";

/**
 * The lab's timing profiles, one home for every scaled-down agent.conf `[timing]`
 * (CONTRIBUTING.md, "Timing profiles"). Two named variants, because they answer different
 * questions:
 *
 * - `demoProfile(ioTimeout)`: production timings scaled by the same factor as sanlock's
 *   I/O timeout (10 s in production, 1 s in the demo), so every ratio of behaviour.md §13
 *   holds and the demo's failover figures compare with production's.
 * - `TEST_TIMING`: the integration tests' agents and brokers. Not a uniform scale: the
 *   loop, liveness and storage cycle are as short as the tests can wait for (1 s loop,
 *   3 s host-alive, 0.2 s storage cycle), while the engine-VM timeouts stay long enough
 *   that a slow start on a loaded 2-core machine is not mistaken for a failure.
 */
export const PRODUCTION_IO_TIMEOUT = 10;

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
    hostDeadSeconds: hostDeadSeconds(ioTimeout),
  };
}

/** The integration tests' timing (the keys left out keep their production value). */
export const TEST_TIMING = Object.freeze({
  loop_delay: 1,
  broker_storage_cycle: 0.2,
  host_alive_timeout: 3,
  engine_starting_timeout: 120,
  engine_bad_health_timeout: 60,
  engine_stop_timeout: 30,
  engine_away_timeout: 5,
  vm_unexpected_shutdown_expiration: 30,
  engine_retry_expiration: 30,
  history_window: 60,
  local_maintenance_poll: 0.2,
  cpu_load_sample: 1,
  cpu_load_refresh: 5,
} satisfies Partial<Timing>);

/** agent.conf text carrying `timing` as its `[timing]` section, under a `# comment` line. */
export function timingSection(timing: Partial<Timing>, comment: string): string {
  let s = `# ${comment}\n[timing]\n`;
  for (const [k, v] of Object.entries(timing)) s += `${k}=${v}\n`;
  return s;
}

/** agent.conf text carrying the demo profile's `[timing]` section. */
export function agentConfText(profile: DemoProfile): string {
  return timingSection(
    profile.timing,
    "written by the demo (lab/demo): production timings scaled to the demo's sanlock io_timeout",
  );
}
