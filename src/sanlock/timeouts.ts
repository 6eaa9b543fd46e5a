/**
 * sanlock's timing rules (sanlock 3.8.5 timeouts.h), the one home for them in the
 * product: a host renews its delta lease every 2 × io_timeout; after 8 × io_timeout
 * without renewal its lockspace fails, and 60 s later (the watchdog's fire timeout)
 * the others may take its host id and every resource lease it held.
 */

/** the watchdog's fixed fire timeout added to the renewal failure time */
export const SANLOCK_WATCHDOG_FIRE_SECONDS = 60;

/** seconds between delta-lease renewals */
export function renewalSeconds(ioTimeout: number): number {
  return 2 * ioTimeout;
}

/** seconds after its last renewal when a host's leases become free for the others */
export function hostDeadSeconds(ioTimeout: number): number {
  return 8 * ioTimeout + SANLOCK_WATCHDOG_FIRE_SECONDS;
}
