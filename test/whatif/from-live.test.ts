import { describe, expect, it } from "vitest";
import { explainCluster } from "../../src/explain/explain.js";
import { runScenario } from "../../src/simulator/index.js";
import {
  engineUpBefore,
  eventTime,
  type LiveSeed,
  liveClusterConfig,
  liveScenario,
  predict,
  predictionInputs,
  whatIfCommands,
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

  it("names every duration it runs on, and says which it had to assume", () => {
    const s = seed();
    const inputs = predictionInputs(s);
    expect(inputs.map((i) => i.key)).toEqual(
      expect.arrayContaining(["timing.loop_delay", "timing.host_alive_timeout", "io_timeout"]),
    );
    expect(inputs.find((i) => i.key === "io_timeout")).toMatchObject({
      seconds: 10,
      assumed: false,
    });
    // a broker that saw no engine start or stop: both engine durations are assumptions
    const assumed = inputs.filter((i) => i.assumed).map((i) => i.key);
    expect(assumed).toEqual(["engine_boot", "guest_shutdown"]);
    for (const i of inputs.filter((x) => x.assumed)) expect(i.source).toMatch(/^ASSUMED: /);
  });

  it("takes the engine's start and stop from what the broker observed, in whole loops", () => {
    const s = seed();
    s.explain.observed_durations = {
      engine_start_to_up: { seconds: 21.3, from: "EngineStarting", host_id: 1, ended_ago: 5 },
      engine_stop: { seconds: 42, from: "EngineStop", host_id: 2, ended_ago: 9 },
    };
    const inputs = predictionInputs(s);
    expect(inputs.filter((i) => i.assumed)).toEqual([]);
    const conf = liveClusterConfig(s, 600);
    // loop 10 s: 21.3 s is two loops; the stop less the loop the agent takes to ask for it
    expect(conf.get("engine_boot")).toBe("20");
    expect(conf.get("guest_shutdown")).toBe("30");
    expect(inputs.find((i) => i.key === "engine_boot")!.source).toContain("host 1");
  });

  it("storage lost on every host and back later: a cut and a restore per host", () => {
    expect(whatIfCommands({ kind: "storage-loss", host: null, restoreAfter: 12 }, 100, 2)).toEqual([
      { t: 100, words: ["cut-storage", "host1"] },
      { t: 100, words: ["cut-storage", "host2"] },
      { t: 112, words: ["restore-storage", "host1"] },
      { t: 112, words: ["restore-storage", "host2"] },
    ]);
  });

  it("a kill is placed just after the victim's lease renewal; maintenance stays where asked", () => {
    const s = seed();
    // io_timeout 10: renewals every 20 s from the victim's boot at 0
    expect(eventTime(s, { kind: "kill", host: 1 }, 101, () => 0)).toEqual({
      reference: 120,
      event: 120.001,
    });
    expect(eventTime(s, { kind: "maintenance", mode: "local", host: 1 }, 101, () => 0)).toEqual({
      reference: 101,
      event: 101,
    });
  });
});
