import { describe, expect, it } from "vitest";
import { demoScenario } from "./demo-scenario.js";

/**
 * The demo's start-up and maintenance scenarios
 * (test/cluster/demo-scenario.ts: what every demo scenario runs on and checks).
 */
describe.sequential("HA cluster on one machine: start-up and maintenance", () => {
  it("startup: exactly one host starts the engine VM, the others reach EngineDown", async () => {
    const r = await demoScenario("startup");
    expect(r.figures.engine_up_seconds).toBeGreaterThan(0);
  }, 240_000);

  it("global-maintenance: a killed engine VM is not repaired until the flag clears", async () => {
    await demoScenario("global-maintenance");
  }, 300_000);

  it("local-maintenance: the engine leaves the host in maintenance and starts elsewhere", async () => {
    const r = await demoScenario("local-maintenance");
    // the simulator was asked on the engine's host before the step; its prediction and
    // what it had to assume are printed beside the measurement (a figure, not asserted)
    const p = r.prediction!;
    expect(p.event).toMatch(/^local-maintenance host\d on$/);
    expect(p.measured_engine_up_seconds).toBeGreaterThan(0);
    // a fresh cluster has shown no engine stop yet: the guest shutdown is an assumption
    expect(
      p.assumptions.some((a) => a.startsWith("guest_shutdown=") && a.includes("ASSUMED")),
    ).toBe(true);
    expect(r.timeline.some((l) => /\| assumed guest_shutdown=/.test(l))).toBe(true);
    // the engine's start was seen by the broker asked (the cold start): not assumed
    expect(p.assumptions.some((a) => a.startsWith("engine_boot="))).toBe(false);
  }, 300_000);
});
