import { describe, expect, it } from "vitest";
import { explainCluster } from "../../src/explain/explain.js";
import { runScenario } from "../../src/simulator/index.js";
import {
  engineUpBefore,
  type LiveSeed,
  liveScenario,
  predict,
} from "../../src/whatif/from-live.js";
import { UP_GOOD } from "../agent/world.js";
import { DEFAULT_CONF, idle, scenarioTime, statusOf } from "../explain/agent-blocks.js";

/** A live two-host cluster: host 1 runs the engine, host 2 stands by (production timing). */
function seed(): LiveSeed {
  const { status } = statusOf([
    { id: 1, data: idle("EngineUp"), local: { engine: UP_GOOD }, age: 1 },
    { id: 2, data: idle("EngineDown"), age: 1 },
  ]);
  return {
    explain: explainCluster({
      status,
      conf: DEFAULT_CONF,
      ioTimeout: 10,
      localMaintenance: false,
      vmMemSizeMb: 4096,
    }),
    conf: DEFAULT_CONF,
    ioTimeout: 10,
    segments: new Map(),
  };
}

describe("simulate --from-live", () => {
  it("--kill host1 predicts the failover-kill scenario's engine-up time within one loop", async () => {
    const s = seed();
    const settle = await runScenario(liveScenario(s, 600, null));
    const up = engineUpBefore(settle.entries, 600)!;
    expect(up.host).toBe("host1");
    const at = up.at + 3 * DEFAULT_CONF.timing.loop_delay;
    const run = await runScenario(liveScenario(s, at + 600, { w: { kind: "kill", host: 1 }, at }));
    const p = predict(run.entries, { kind: "kill", host: 1 }, at);
    expect(p).toMatchObject({ engine_host: "host1", started_on: "host2" });
    // the scenario folder's own measurement: kill at 250, host2 EngineUp at 460
    const measured =
      scenarioTime("failover-kill", /host2\s+EngineStarting -> EngineUp/) -
      scenarioTime("failover-kill", />> kill host1/);
    expect(Math.abs(p.engine_up_seconds! - measured)).toBeLessThanOrEqual(
      DEFAULT_CONF.timing.loop_delay,
    );
  });
});
