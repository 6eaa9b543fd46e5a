/** One CPU-load sample of the collection history: when it was taken and the value (0..1). */
export interface LoadSample {
  /** monotonic seconds at collection start */
  at: number;
  /** null when the monitor had no value yet; such a point breaks the integration */
  load: number | null;
}

/**
 * Average CPU load over the history, each interval between two consecutive samples
 * weighted by its length (trapezoid rule: (b − a)·(f(a) + f(b))/2). Intervals touching a
 * sample without a value are skipped. Fewer than two usable samples give 0.
 */
export function loadFactor(samples: readonly LoadSample[]): number {
  const sorted = [...samples].sort((a, b) => a.at - b.at);
  let area = 0;
  let span = 0;
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (prev.load === null || cur.load === null) continue;
    const dt = cur.at - prev.at;
    area += (dt * (prev.load + cur.load)) / 2;
    span += dt;
  }
  return span === 0 ? 0 : area / span;
}
