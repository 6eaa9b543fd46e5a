import { describe, expect, it } from "vitest";
import { comparePrediction, predictionTable } from "../../lab/demo/live-insight.js";

describe("the demo's prediction vs measurement (pure)", () => {
  const asked = {
    askedHostId: 2,
    event: "kill host1",
    host: "host2",
    seconds: 68.4,
    assumptions: ["guest_shutdown=30: ASSUMED: the simulator's guest shutdown time"],
  };

  it("same host and within one loop: the table says so", () => {
    const p = comparePrediction(asked, { hostId: 2, seconds: 69.1 }, 1);
    expect(p.within_loop).toBe(true);
    expect(p.difference_seconds).toBeCloseTo(0.7, 5);
    expect(predictionTable(p).at(-1)).toContain("within one loop");
    expect(predictionTable(p).join("\n")).toMatch(/up after the event\s+68\.4 s\s+69\.1 s/);
    expect(predictionTable(p)[0]).toContain("kill host1 (asked on host2)");
    // what the prediction had to assume travels with it into --json
    expect(p.assumptions).toEqual(asked.assumptions);
  });

  it("off by more than a loop, or another host, is NOT within one loop", () => {
    expect(comparePrediction(asked, { hostId: 2, seconds: 69.7 + 57 }, 1).within_loop).toBe(false);
    const other = comparePrediction(asked, { hostId: 3, seconds: 68.4 }, 1);
    expect(other.within_loop).toBe(false);
    expect(predictionTable(other).at(-1)).toContain("NOT within one loop");
  });

  it("no predicted time (the simulator never started the engine): no difference", () => {
    const p = comparePrediction({ ...asked, seconds: null }, { hostId: 2, seconds: 70 }, 1);
    expect(p.difference_seconds).toBeNull();
    expect(p.within_loop).toBe(false);
  });
});
