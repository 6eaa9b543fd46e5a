import { type Clock, monotonicSeconds } from "./monotonic.js";

/**
 * Time as a daemon sees it: the host's monotonic clock, the wall clock and timers. The
 * hosts run on `systemTime`; the simulator (src/simulator/) gives every daemon of a
 * simulated host one on the cluster's virtual clock, so the very same schedules (the
 * broker's storage cycle, the monitors' probes) run there in virtual time.
 */
export interface HostTime extends Clock {
  /** wall-clock milliseconds since the epoch (Date.now) */
  wallMs(): number;
  /** calls `fn` after `seconds`; the timer never holds the process open; returns a cancel */
  after(seconds: number, fn: () => void): () => void;
}

export const systemTime: HostTime = {
  now: monotonicSeconds,
  wallMs: () => Date.now(),
  after(seconds, fn) {
    const t = setTimeout(fn, Math.max(0, seconds) * 1000);
    t.unref();
    return () => clearTimeout(t);
  },
};

/** A promise settled by `p`, or rejected with `onTimeout()` after `seconds` of `time`. */
export async function withTimeout<T>(
  time: HostTime,
  p: Promise<T>,
  seconds: number,
  onTimeout: () => Error,
): Promise<T> {
  let cancel = () => {};
  const timeout = new Promise<never>((_, reject) => {
    cancel = time.after(seconds, () => reject(onTimeout()));
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    cancel();
  }
}
