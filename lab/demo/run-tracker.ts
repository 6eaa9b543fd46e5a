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

/** A span of time in which no host ran the engine VM. */
export interface Outage {
  from: number;
  to: number;
}

/**
 * The spans within [from, to] that no host's interval covers: the engine VM ran nowhere
 * (open intervals run until `to`). Intervals start late by up to one look, so an outage
 * found may be longer than the real one by that much, never shorter.
 */
export function findOutages(intervals: readonly RunInterval[], from: number, to: number): Outage[] {
  const spans = intervals
    .map((iv) => ({ from: Math.max(iv.from, from), to: Math.min(iv.to ?? to, to) }))
    .filter((s) => s.from < s.to)
    .sort((a, b) => a.from - b.from);
  const out: Outage[] = [];
  let covered = from;
  for (const s of spans) {
    if (s.from > covered) out.push({ from: covered, to: s.from });
    covered = Math.max(covered, s.to);
  }
  if (covered < to) out.push({ from: covered, to });
  return out;
}
