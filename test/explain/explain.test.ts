import { describe, expect, it } from "vitest";
import { DEFAULT_TIMING } from "../../src/common/timing.js";
import { explainCluster, HOST_ALIVE_TIMER, LEASE_TIMER } from "../../src/explain/explain.js";
import { formatExplain } from "../../src/explain/format.js";
import { UP_GOOD } from "../agent/world.js";
import { DEFAULT_CONF, idle, type Published, scenarioTime, statusOf } from "./agent-blocks.js";

const CONF = DEFAULT_CONF;
const LOOP = DEFAULT_TIMING.loop_delay;

/** explain over the broker status of these published hosts (statusOf). */
function explainOf(hosts: Published[], localId = 1, monitors: Record<string, string> = {}) {
  const { status, scores } = statusOf(hosts, localId, monitors);
  const doc = explainCluster({
    status,
    conf: CONF,
    ioTimeout: 10,
    localMaintenance: false,
    vmMemSizeMb: 4096,
  });
  return { doc, scores, status };
}

describe("he-ha explain (from published blocks and the broker's view)", () => {
  it("each host's score is the sum of the penalties its own score function named", () => {
    const { doc, scores } = explainOf([
      { id: 1, data: idle("EngineUp"), local: { engine: UP_GOOD }, age: 2 },
      {
        id: 2,
        data: { ...idle("EngineDown"), retryCount: 2, retryTime: 4900 },
        local: { network: 0.25, bridge: false, memFreeMb: 1024 },
        age: 3,
      },
    ]);
    const h2 = doc.hosts.find((h) => h.host_id === 2)!;
    expect(h2.breakdown_published).toBe(true);
    expect(h2.penalties.map((p) => [p.name, p.points, p.key])).toEqual([
      ["network", 1200, "network-score-penalty"],
      ["mgmt-bridge", 600, "mgmt-bridge-score-penalty"],
      ["free-memory", 400, "free-memory-score-penalty"],
      ["engine-retry", 100, "engine-retry-score-penalty"],
    ]);
    expect(h2.penalties.find((p) => p.name === "free-memory")).toMatchObject({
      value: 1024,
      threshold: 4096,
    });
    const sum = h2.penalties.reduce((a, p) => a + p.points, 0);
    expect(h2.score).toBe(3400 - sum);
    expect(h2.score).toBe(scores.get(2)!.score);
    // the start-failure penalty's expiry, within one loop of the truth (600 s after 4900)
    const retry = h2.timers.find((t) => t.name === "start-failure-penalty")!;
    expect(Math.abs(retry.seconds_left - (4900 + 600 - 5000))).toBeLessThanOrEqual(LOOP);
    const h1 = doc.hosts.find((h) => h.host_id === 1)!;
    expect(h1).toMatchObject({ runs_engine: true, penalties: [], score: 3400 });
    expect(h2.why).toContain("standby: the engine runs on host 1");
  });

  it("a forced 0 names its cause (three failed starts, local maintenance)", () => {
    const { doc } = explainOf([
      { id: 1, data: { ...idle("EngineDown"), retryCount: 4, retryTime: 4990 }, age: 1 },
      { id: 2, data: idle("LocalMaintenance"), local: { localMaintenance: true }, age: 1 },
    ]);
    expect(doc.hosts[0]!.penalties).toMatchObject([
      {
        name: "start-failures",
        points: 3400,
        value: 4,
        threshold: 3,
        key: "engine_retry_max_attempts",
      },
    ]);
    expect(doc.hosts[0]!.why).toBe("cannot take the engine: score 0 (start-failures)");
    expect(doc.hosts[1]!.penalties.map((p) => p.name)).toEqual(["local-maintenance"]);
    expect(doc.hosts[1]!.why).toContain("local maintenance");
  });

  it.each([
    ["EngineMaybeAway", 4980, 40],
    ["EngineUpBadHealth", 4900, 300],
    ["EngineUnexpectedlyDown", 4800, 560],
    ["EngineStop", 4950, 300],
  ] as const)(
    "%s: its timer's time left is within one loop of the truth",
    (state, start, limit) => {
      const age = 4;
      const { doc } = explainOf([
        { id: 1, data: idle("EngineDown"), age: 1 },
        {
          id: 2,
          data: { ...idle(state), timeoutStart: start },
          local: state === "EngineUpBadHealth" || state === "EngineStop" ? { engine: UP_GOOD } : {},
          age,
        },
      ]);
      const t = doc.hosts[1]!.timers.find((x) => x.name === state)!;
      expect(t.waits_for.length).toBeGreaterThan(10);
      const truth = start + limit - 5000;
      expect(Math.abs(t.seconds_left - truth)).toBeLessThanOrEqual(LOOP);
    },
  );

  it("a host that stopped updating: the host-alive and sanlock lease timers, then 'not alive'", () => {
    const up = { engine: UP_GOOD };
    const dying = explainOf([
      { id: 1, data: idle("EngineDown"), age: 1 },
      { id: 2, data: idle("EngineUp"), local: up, age: 30 },
    ]).doc.hosts[1]!;
    expect(dying.timers.find((t) => t.name === HOST_ALIVE_TIMER)?.seconds_left).toBe(30);
    const lease = dying.timers.find((t) => t.name === LEASE_TIMER)!;
    expect(lease.seconds_left).toBe(8 * 10 + 60 - 30);
    expect(lease.waits_for).toContain("engine VM's lease");
    const dead = explainOf([
      { id: 1, data: idle("EngineDown"), age: 1 },
      { id: 2, data: idle("EngineUp"), local: up, age: 100 },
    ]).doc;
    const h2 = dead.hosts[1]!;
    expect(h2.alive).toBe(false);
    expect(h2.why).toContain("not alive (block unchanged for 100 s)");
    expect(h2.timers.map((t) => [t.name, t.seconds_left])).toEqual([[LEASE_TIMER, 40]]);
  });

  it("the local agent's next step is the agent's own step function on the published state", () => {
    // engine down everywhere, this host best: it starts the engine
    const start = explainOf([
      { id: 1, data: idle("EngineDown"), age: 1 },
      { id: 2, data: idle("EngineDown"), local: { network: 0.5 }, age: 1 },
    ]).doc;
    expect(start.next_step).toMatchObject({
      state: "EngineDown",
      next_state: "EngineStart",
      reason: "engine down and local score 3400 is best",
    });
    // another host has a better score: this host waits
    const wait = explainOf(
      [
        { id: 1, data: idle("EngineDown"), local: { bridge: false }, age: 1 },
        { id: 2, data: idle("EngineDown"), age: 1 },
      ],
      1,
      { "mgmt-bridge": "False" },
    ).doc;
    expect(wait.next_step.line).toBe("stays in EngineDown: host 2 has a better score (3400)");
    // EngineMaybeAway whose timer ran out: the timeout fires next loop
    const away = explainOf([
      { id: 1, data: { ...idle("EngineMaybeAway"), timeoutStart: 4950 }, age: 1 },
      { id: 2, data: idle("EngineDown"), age: 1 },
    ]).doc;
    expect(away.next_step).toMatchObject({ next_state: "EngineUnexpectedlyDown" });
    expect(away.next_step.reason).toBe("timeout of 40 s in EngineMaybeAway");
    // a broker without monitors: no agent runs here, nothing is predicted
    const { status } = statusOf([{ id: 1, data: idle("EngineDown"), age: 1 }]);
    status.local.monitors = [];
    const none = explainCluster({
      status,
      conf: CONF,
      ioTimeout: 10,
      localMaintenance: false,
      vmMemSizeMb: null,
    });
    expect(none.next_step).toMatchObject({ next_state: "EngineDown", action: null });
    expect(none.next_step.line).toMatch(/^no agent runs here/);
  });

  it("the verdict's failover time is within one loop of the simulator's failover-kill scenario", () => {
    // the scenario: two hosts, production timing, host1 (engine) killed at 250
    const killedAt = scenarioTime("failover-kill", />> kill host1/);
    const startedAt = scenarioTime("failover-kill", /host2\s+start-vm: engine VM started/);
    const { doc } = explainOf([
      { id: 1, data: idle("EngineUp"), local: { engine: UP_GOOD }, age: 1 },
      { id: 2, data: idle("EngineDown"), age: 1 },
    ]);
    expect(doc.verdict).toMatchObject({ engine_host_id: 1, failover_host_id: 2 });
    expect(
      Math.abs(doc.verdict.failover_after_seconds! - (startedAt - killedAt)),
    ).toBeLessThanOrEqual(LOOP);
  });

  it("no host able to take over is said plainly", () => {
    const { doc } = explainOf([
      { id: 1, data: idle("EngineUp"), local: { engine: UP_GOOD }, age: 1 },
      { id: 2, data: idle("LocalMaintenance"), local: { localMaintenance: true }, age: 1 },
    ]);
    expect(doc.verdict.failover_host_id).toBeNull();
    expect(doc.verdict.summary).toContain("NO host could start it");
    const text = formatExplain(doc);
    expect(text).toContain("Host 2 (host2.example.com)  state LocalMaintenance  score 0");
    expect(text).toContain("local-maintenance: value yes, threshold no  [agent.conf base-score]");
    expect(text).toContain("Verdict: engine on host 1");
  });
});
