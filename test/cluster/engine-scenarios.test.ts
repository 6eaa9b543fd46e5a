import { describe, expect, it } from "vitest";
import { demoScenario } from "./demo-scenario.js";

/**
 * The demo's scenarios where the engine VM or the HA daemons fail on a running host
 * (test/cluster/demo-scenario.ts: what every demo scenario runs on and checks).
 */
describe.sequential("HA cluster on one machine: the engine VM and the daemons", () => {
  it("engine-crash: a VM that dies on its host reads as down_unexpected: EngineUnexpectedlyDown at once, then the engine is up again", async () => {
    const r = await demoScenario("engine-crash");
    expect(r.figures.unexpectedly_down_seconds).toBeGreaterThan(0);
    expect(r.figures.engine_up_again_seconds).toBeGreaterThan(r.figures.unexpectedly_down_seconds!);
  }, 300_000);

  it("hung-engine: health bad with the VM running: EngineUpBadHealth, EngineStop after the bad-health timeout, up again once healthy", async () => {
    const r = await demoScenario("hung-engine");
    expect(r.figures.engine_stop_seconds).toBeGreaterThanOrEqual(
      r.figures.bad_health_timeout_seconds!,
    );
    expect(r.figures.engine_up_again_seconds).toBeGreaterThan(r.figures.vm_stopped_seconds!);
  }, 400_000);

  it("agent-restart: the engine VM keeps running untouched", async () => {
    await demoScenario("agent-restart");
  }, 300_000);

  it("broker-restart: the engine VM keeps running untouched", async () => {
    await demoScenario("broker-restart");
  }, 300_000);
});
