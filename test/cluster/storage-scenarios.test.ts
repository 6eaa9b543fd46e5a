import { describe, expect, it } from "vitest";
import { demoScenario } from "./demo-scenario.js";

/**
 * Real storage scenarios on a real GlusterFS volume (this machine's glusterd, a one-brick
 * volume of the test's own), two hosts whose agents mount it themselves at VDSM's mount
 * point, real sanlock and libvirtd per host (test/cluster/demo-scenario.ts). Needs
 * `npm run build` and root.
 */
describe.sequential("storage on GlusterFS", () => {
  it("power-off: every host dies hard, boots with nothing mounted, mounts, rejoins; the engine comes back on one host", async () => {
    const r = await demoScenario("power-off", 2);
    expect(r.figures.boot_to_engine_up_seconds).toBeGreaterThan(0);
    expect(r.timeline.join("\n")).toMatch(/storage mounted again by the agents of 2 hosts/);
  }, 300_000);

  it("storage-loss: the volume stops; every agent reports it and starts nothing; the volume starts; the agents resume by themselves and the engine is up on one host", async () => {
    const r = await demoScenario("storage-loss", 2);
    expect(r.figures.detection_seconds).toBeLessThan(r.figures.outage_seconds!);
    expect(r.figures.recovery_seconds).toBeGreaterThanOrEqual(r.figures.resume_seconds!);
  }, 400_000);
});
