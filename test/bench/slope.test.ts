import { describe, expect, it } from "vitest";
import { isFlat, leastSquares } from "../../bench/slope.js";

describe("leastSquares", () => {
  it("finds the slope of points on a line, with no error", () => {
    const xs = [0, 1, 2, 3, 4];
    const s = leastSquares(
      xs,
      xs.map((x) => 70 + 2.5 * x),
    );
    expect(s.slope).toBeCloseTo(2.5, 12);
    expect(s.stderr).toBeCloseTo(0, 12);
  });

  it("gives scatter around a level line a slope near 0 and a standard error that covers it", () => {
    const xs = Array.from({ length: 61 }, (_, i) => i / 60);
    const ys = xs.map((_, i) => 80 + (i % 2 === 0 ? 0.8 : -0.8) + (i % 7) * 0.1);
    const s = leastSquares(xs, ys);
    expect(Math.abs(s.slope)).toBeLessThan(1);
    expect(isFlat(s, 0.01)).toBe(true);
  });

  it("tells a steady leak from noise", () => {
    // 3 MiB per hour, sampled each minute, with ±0.5 MiB of scatter
    const xs = Array.from({ length: 61 }, (_, i) => i / 60);
    const ys = xs.map((x, i) => 70 + 3 * x + (i % 2 === 0 ? 0.5 : -0.5));
    const s = leastSquares(xs, ys);
    expect(s.slope).toBeGreaterThan(2.5);
    expect(s.slope).toBeLessThan(3.5);
    expect(isFlat(s, 1)).toBe(false);
  });

  it("calls a tiny steady growth flat when under the floor", () => {
    const xs = [0, 0.5, 1];
    expect(isFlat(leastSquares(xs, [70, 70.2, 70.4]), 1)).toBe(true);
  });

  it("refuses unequal lists, and has no slope for one point", () => {
    expect(() => leastSquares([1, 2], [1])).toThrow(/2 x but 1 y/);
    expect(Number.isNaN(leastSquares([1], [1]).slope)).toBe(true);
  });
});
