import { writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollFor } from "../../lab/standins/processes.js";
import { TEST_TIMING, timingSection } from "../../lab/timing.js";
import { haPaths } from "../../src/common/paths.js";
import type { ExplainDoc } from "../../src/explain/explain.js";
import { UP_GOOD } from "../agent/world.js";
import { type BrokerHost, startBrokerHost } from "../cli/cluster.js";
import { runHeHa } from "../cli/harness.js";
import { idle } from "./agent-blocks.js";
import { type Publisher, startPublishing } from "./publisher.js";

/** The broker's timing: a 1 s loop, hosts dead after 3 s unchanged (lab/timing.ts). */
const TIMING = {
  loop_delay: TEST_TIMING.loop_delay,
  broker_storage_cycle: TEST_TIMING.broker_storage_cycle,
  host_alive_timeout: TEST_TIMING.host_alive_timeout,
};

let host: BrokerHost;
let pub: Publisher;

async function explainJson(): Promise<ExplainDoc> {
  const r = await runHeHa(host.root, ["explain", "--json"]);
  if (r.code !== 0) throw new Error(`he-ha explain failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ExplainDoc;
}

describe("he-ha explain against a running ovirt-ha-broker and published host blocks", () => {
  beforeAll(async () => {
    host = await startBrokerHost(1, async (s) => {
      await writeFile(haPaths(s.root).agentConf, timingSection(TIMING, "explain test timing"));
    });
    // host 1 (this host) runs the engine; host 2 has half its network and one failed start
    pub = startPublishing(host.volumes.metadata, [
      { id: 1, data: idle("EngineUp"), local: { engine: UP_GOOD } },
      {
        id: 2,
        data: { ...idle("EngineDown"), retryCount: 1, retryTime: 1000 },
        local: { network: 0.5 },
      },
    ]);
  });
  afterAll(async () => {
    await pub?.stop();
    await host?.stop();
  });

  it("explains both hosts, names host 2's penalties and gives the failover verdict", async () => {
    const doc = await pollFor(
      "both hosts alive in he-ha explain",
      async () => {
        const d = await explainJson();
        return d.hosts.length === 2 && d.hosts.every((h) => h.alive) ? d : undefined;
      },
      30_000,
      300,
    );
    const [h1, h2] = doc.hosts;
    expect(h1).toMatchObject({ host_id: 1, runs_engine: true, score: 3400, penalties: [] });
    expect(h2!.penalties).toEqual([
      { name: "network", points: 800, value: 0.5, threshold: 1, key: "network-score-penalty" },
      {
        name: "engine-retry",
        points: 50,
        value: 1,
        threshold: 0,
        key: "engine-retry-score-penalty",
      },
    ]);
    expect(h2!.score).toBe(3400 - 800 - 50);
    expect(h2!.timers.map((t) => t.name)).toEqual(["start-failure-penalty"]);
    expect(h2!.why).toContain("standby: the engine runs on host 1");
    // io_timeout 1 (the test domain): the lease frees 8 + 60 s after the last renewal
    expect(doc.verdict).toMatchObject({
      engine_host_id: 1,
      failover_host_id: 2,
      failover_after_seconds: 68,
    });
    expect(doc.next_step.state).toBe("EngineUp");

    const text = await runHeHa(host.root, ["explain"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("Host 2 (host2.example.com)  state EngineDown  score 2550");
    expect(text.stdout).toContain(
      "-  800  network: value 0.5, threshold 1  [agent.conf network-score-penalty]",
    );
    expect(text.stdout).toContain(
      "Verdict: engine on host 1 (host1.example.com); if it died now, host 2",
    );

    const metrics = await host.client.metricsText();
    expect(metrics).toContain('ovirt_ha_score_penalty{host_id="2",reason="network"} 800');
    expect(metrics).toMatch(
      /ovirt_ha_timer_remaining_seconds\{host_id="2",timer="start-failure-penalty"\} \d/,
    );
    expect(metrics).toContain(
      'ovirt_ha_failover_seconds{engine_host_id="1",failover_host_id="2"} 68',
    );
  });

  it("a host whose agent stops publishing shows its host-alive and lease timers, then is not alive", async () => {
    pub.silence(2);
    const dying = await pollFor(
      "host 2's host-alive timer",
      async () => {
        const h2 = (await explainJson()).hosts[1]!;
        return h2.timers.some((t) => t.name === "host-alive") ? h2 : undefined;
      },
      20_000,
      200,
    );
    const lease = dying.timers.find((t) => t.name === "sanlock-lease")!;
    expect(lease.seconds_left).toBeGreaterThan(60);
    expect(lease.seconds_left).toBeLessThanOrEqual(68);
    const dead = await pollFor(
      "host 2 not alive",
      async () => {
        const d = await explainJson();
        return d.hosts[1]!.alive ? undefined : d;
      },
      20_000,
      300,
    );
    expect(dead.hosts[1]!.why).toMatch(/not alive \(block unchanged for \d+ s\)/);
    expect(dead.verdict.failover_host_id).toBeNull();
    expect(dead.verdict.summary).toContain("NO host could start it");
  });
});
