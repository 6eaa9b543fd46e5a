/**
 * The fault campaign (lab/demo/chaos.ts): its plan is decided by the seed alone, and a
 * short run against the real demo cluster (sanlock daemons, libvirtd per host, brokers
 * and agents as processes) injects faults and ends with no invariant violation: never
 * two running engine VMs (samples, run intervals, sanlock lease holders), no damaged
 * segment of a real host, the engine back after every fault. Needs root and dist/.
 */
import { describe, expect, it } from "vitest";
import { FAULT_KINDS, faultPlan } from "../../lab/demo/chaos.js";
import { runDemo, summary } from "../../lab/demo/run.js";

describe("chaos plan", () => {
  it("the same seed gives the same faults on the same hosts; another seed differs", () => {
    const a = faultPlan(42, 50, 3);
    expect(faultPlan(42, 50, 3)).toEqual(a);
    expect(faultPlan(43, 50, 3)).not.toEqual(a);
    expect(new Set(a.map((f) => f.kind)).size).toBeGreaterThan(4);
    for (const f of a) {
      expect(FAULT_KINDS).toContain(f.kind);
      expect(f.pick).toBeGreaterThanOrEqual(1);
      expect(f.pick).toBeLessThanOrEqual(3);
    }
  });
});

describe.sequential("chaos run on the demo cluster", () => {
  it("a short campaign: faults injected, 0 invariant violations, the engine back after each", async () => {
    const r = await runDemo({
      hosts: 3,
      scenario: "chaos",
      duration: 90,
      seed: 7,
      json: true,
      live: false,
    });
    if (!r.ok) console.error(summary(r), r.timeline.join("\n"));
    expect(r.error).toBeUndefined();
    expect(r.chaos?.violations).toEqual([]);
    expect(r.doubleRuns).toEqual([]);
    expect(r.overlaps).toEqual([]);
    const injected = Object.values(r.chaos?.injected ?? {}).reduce((a, b) => a + b, 0);
    expect(injected).toBeGreaterThanOrEqual(3);
    expect(Object.keys(r.chaos?.recovery ?? {}).length).toBeGreaterThan(0);
  }, 600_000);
});
