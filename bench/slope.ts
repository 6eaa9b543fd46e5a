/**
 * Least-squares line through (x, y) points: its slope, the slope's standard error and
 * whether the points are flat within their own noise (the soak benchmark's test of a
 * leak). Pure; no I/O.
 */
export interface Slope {
  /** units of y per unit of x */
  slope: number;
  /** standard error of the slope (NaN with fewer than 3 points) */
  stderr: number;
}

export function leastSquares(xs: number[], ys: number[]): Slope {
  if (xs.length !== ys.length) throw new Error(`leastSquares: ${xs.length} x but ${ys.length} y`);
  const n = xs.length;
  if (n < 2) return { slope: Number.NaN, stderr: Number.NaN };
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
  }
  if (sxx === 0) return { slope: Number.NaN, stderr: Number.NaN };
  const slope = sxy / sxx;
  if (n < 3) return { slope, stderr: Number.NaN };
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (ys[i]! - (my + slope * (xs[i]! - mx))) ** 2;
  return { slope, stderr: Math.sqrt(sse / (n - 2) / sxx) };
}

/**
 * Flat within noise: the slope is inside ±2 standard errors of zero (no trend the
 * samples' own scatter can tell from none), or smaller than `floor` (a growth too small
 * to matter, e.g. 1 MiB per hour, however steady).
 */
export function isFlat(s: Slope, floor: number): boolean {
  if (Number.isNaN(s.slope)) return false;
  return Math.abs(s.slope) < floor || Math.abs(s.slope) <= 2 * s.stderr;
}
