/**
 * Where the engine VM ran, as intervals per host, from frequent looks at every
 * hypervisor: a host's interval opens at the first look that finds the VM running there
 * and closes at the first look that does not. Two hosts' intervals overlapping is the
 * engine running twice, even when the overlap is shorter than the 500 ms sampler sees.
 * The intervals are conservative: they may start late and end late by one look, never
 * early, so an overlap found is real within one look's time.
 */
export interface RunInterval {
  host: number;
  /** seconds (the caller's clock) of the first look that found it running */
  from: number;
  /** seconds of the first look that found it gone; undefined while it runs */
  to: number | undefined;
}

export interface Overlap {
  hosts: [number, number];
  from: number;
  to: number;
}

export class RunTracker {
  private readonly open = new Map<number, RunInterval>();
  readonly intervals: RunInterval[] = [];

  /** One look at one host: `running` says whether the VM runs there at time `t`. */
  observe(host: number, running: boolean, t: number): void {
    const cur = this.open.get(host);
    if (running && !cur) {
      const iv: RunInterval = { host, from: t, to: undefined };
      this.open.set(host, iv);
      this.intervals.push(iv);
    } else if (!running && cur) {
      cur.to = t;
      this.open.delete(host);
    }
  }

  /** Overlaps of two hosts' intervals (open intervals run until `now`). */
  overlaps(now: number): Overlap[] {
    return findOverlaps(this.intervals, now);
  }
}

/** Every pair of intervals of different hosts that share time, with the shared span. */
export function findOverlaps(intervals: readonly RunInterval[], now: number): Overlap[] {
  const out: Overlap[] = [];
  for (let i = 0; i < intervals.length; i++) {
    for (let j = i + 1; j < intervals.length; j++) {
      const a = intervals[i]!;
      const b = intervals[j]!;
      if (a.host === b.host) continue;
      const from = Math.max(a.from, b.from);
      const to = Math.min(a.to ?? now, b.to ?? now);
      if (from < to)
        out.push({ hosts: [Math.min(a.host, b.host), Math.max(a.host, b.host)], from, to });
    }
  }
  return out;
}
