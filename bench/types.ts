/** One benchmark figure. Medians and ratios are measured side by side in one run. */
export interface BenchResult {
  name: string;
  unit: string;
  median: number;
  p99?: number;
  samples: number;
  target?: string;
  note?: string;
  /** the raw samples behind the figure, in time order, when they tell more (the soak) */
  series?: number[];
}

/** Median and p99 of a list of samples (nearest-rank). */
export function summarize(samples: number[]): { median: number; p99: number } {
  if (samples.length === 0) return { median: Number.NaN, p99: Number.NaN };
  const s = [...samples].sort((a, b) => a - b);
  const rank = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  return { median: rank(0.5), p99: rank(0.99) };
}
