/**
 * The fault campaign (lab/demo/chaos.ts): its plan is decided by the seed alone, and a
 * short run against the real demo cluster (sanlock daemons, libvirtd per host, brokers
 * and agents as processes) injects faults, among them the engine host's sanlock daemon
 * killed until the modelled watchdog resets the host, and ends with no invariant violation: never
 * two running engine VMs (samples, run intervals, sanlock lease holders), no damaged
 * segment of a real host, the engine back after every fault. Needs root and dist/.
 */
import { describe, expect, it } from "vitest";
import { FAULT_KINDS, faultPlan, watchdogRule } from "../../lab/demo/chaos.js";
import { runDemo, summary } from "../../lab/demo/run.js";
import { demoProfile } from "../../lab/timing.js";

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

describe("the modelled watchdog", () => {
  it("resets a host whose sanlock died before any other host may take its leases, never sooner than sanlock would", () => {
    for (const io of [1, 10]) {
      const p = demoProfile(io);
      const r = watchdogRule(p);
      // after the renewal-failure time (8 × io_timeout): no reset a real host would not get
      expect(r.resetAfter).toBeGreaterThan(8 * io);
      // before last renewal + host_dead_seconds, the last renewal being ≤ 2 × io_timeout old
      expect(r.resetAfter).toBeLessThan(r.acquireEarliest);
      expect(r.acquireEarliest).toBe(p.hostDeadSeconds - 2 * io);
    }
    // production (io_timeout 10): timeouts.h's watchdog fires by T179 after a T40 renewal,
    // i.e. 139 s after it; a fault 20 s after that renewal is reset 119 s later
    expect(watchdogRule(demoProfile(10)).resetAfter).toBe(119);
  });
});

describe.sequential("chaos run on the demo cluster", () => {
  it("a short campaign: faults injected, 0 invariant violations, the engine back after each", async () => {
    const r = await runDemo({
      hosts: 3,
      scenario: "chaos",
      duration: 90,
      seed: 13,
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
    // seed 13's fourth fault kills the engine host's sanlock daemon: the host is reset by
    // the modelled watchdog, the engine comes back, and nothing ran twice
    expect(faultPlan(13, 4, 3)[3]?.kind).toBe("engine-sanlock-kill9");
    expect(r.chaos?.injected["engine-sanlock-kill9"]).toBeGreaterThanOrEqual(1);
    expect(r.timeline.some((l) => /host\d reset by the \(modelled\) watchdog/.test(l))).toBe(true);
    expect(Object.keys(r.chaos?.recovery ?? {}).length).toBeGreaterThan(0);
  }, 600_000);
});
