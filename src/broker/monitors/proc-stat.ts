/** Host CPU counters of /proc/stat, in clock ticks summed over all CPUs. */
export interface CpuTicks {
  total: number;
  busy: number;
  /** CPUs listed (`cpuN` lines) */
  ncpus: number;
}

/**
 * The aggregate `cpu` line: total = the first eight fields (guest and guest_nice are
 * already inside user and nice), idle = idle + iowait, busy = total - idle; as the
 * original's cpu-load-no-engine.
 */
export function parseProcStat(text: string): CpuTicks {
  const lines = text.split("\n");
  const cpu = lines.find((l) => /^cpu\s/.test(l));
  if (cpu === undefined) throw new Error("/proc/stat has no aggregate cpu line");
  const fields = cpu.trim().split(/\s+/).slice(1).map(Number);
  if (fields.length < 5 || fields.some((n) => !Number.isFinite(n))) {
    throw new Error(`/proc/stat: malformed cpu line "${cpu}"`);
  }
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = fields[3]! + fields[4]!;
  const ncpus = lines.filter((l) => /^cpu\d+\s/.test(l)).length;
  return { total, busy: total - idle, ncpus: Math.max(1, ncpus) };
}

/** Busy share of the host between two samples, 0 when no tick elapsed. */
export function busyRatio(prev: CpuTicks, cur: CpuTicks): number {
  const dtotal = cur.total - prev.total;
  if (dtotal <= 0) return 0;
  return (cur.busy - prev.busy) / dtotal;
}

export function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
