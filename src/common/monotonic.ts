/**
 * The machine's monotonic clock (CLOCK_MONOTONIC through libuv), in seconds. It is
 * shared by every process on the host, like Python's monotonic.time() in the original.
 */
export function monotonicSeconds(): number {
  return Number(process.hrtime.bigint() / 1_000_000n) / 1000;
}

/** A clock that tests can replace: every pure decision takes `now` from one of these. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: monotonicSeconds };
