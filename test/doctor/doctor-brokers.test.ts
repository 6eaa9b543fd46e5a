import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollFor } from "../../lab/standins/processes.js";
import { TEST_TIMING, timingSection } from "../../lab/timing.js";
import { loadAgentConf } from "../../src/common/agent-conf.js";
import { haPaths } from "../../src/common/paths.js";
import type { Finding } from "../../src/doctor/checks.js";
import { UP_GOOD } from "../agent/world.js";
import { makeDomain, makeHostRoot, type TestDomain } from "../broker/broker-harness.js";
import { runHeHa } from "../cli/harness.js";
import { idle } from "../explain/agent-blocks.js";
import { type Publisher, startPublishing } from "../explain/publisher.js";
import { type BrokerProcess, startBrokerProcess } from "../support/broker-process.js";
import { removeDir, tempDir } from "../support/temp.js";

/**
 * Real brokers of hosts sharing one whiteboard file; their agents' blocks are written by
 * the agent's own publish code (test/explain/publisher.ts), each from its host's agent.conf.
 */
let dir: string;
let domain: TestDomain;
let pub: Publisher;
const roots = new Map<number, string>();
const brokers: BrokerProcess[] = [];

const TIMING = {
  loop_delay: TEST_TIMING.loop_delay,
  host_alive_timeout: TEST_TIMING.host_alive_timeout,
  broker_storage_cycle: TEST_TIMING.broker_storage_cycle,
};

/** A host root with a running broker; `score` adds an agent.conf [score] section. */
async function startHost(id: number, score = ""): Promise<string> {
  const root = await makeHostRoot(dir, id, domain, {
    extraConf: { hostname: `host${id}.example.com`, network_test: "none" },
  });
  await writeFile(
    haPaths(root).agentConf,
    `${timingSection(TIMING, "doctor test timing")}${score ? `[score]\n${score}\n` : ""}`,
  );
  // what a healthy host has: a watchdog device and a running wdmd (this process stands in)
  await mkdir(path.join(root, "dev"), { recursive: true });
  await writeFile(path.join(root, "dev/watchdog"), "");
  await mkdir(path.join(root, "run/wdmd"), { recursive: true });
  await writeFile(path.join(root, "run/wdmd/wdmd.pid"), `${process.pid}\n`);
  roots.set(id, root);
  brokers.push(await startBrokerProcess(root, { logLevel: "warn" }));
  return root;
}

async function doctor(id: number, ...args: string[]) {
  const r = await runHeHa(roots.get(id)!, ["doctor", "--json", ...args]);
  if (r.code === null || r.stdout === "") throw new Error(`he-ha doctor failed: ${r.stderr}`);
  return { code: r.code, findings: (JSON.parse(r.stdout) as { findings: Finding[] }).findings };
}

const problems = (fs: Finding[]) => fs.filter((f) => f.severity !== "info");

/** Polls doctor on host `id` until `pick` finds what the test waits for. */
function doctorUntil<T>(
  what: string,
  id: number,
  pick: (fs: Finding[]) => T | undefined,
  ...args: string[]
) {
  return pollFor(what, async () => pick((await doctor(id, ...args)).findings), 30_000, 300);
}

describe("he-ha doctor against real brokers sharing a whiteboard", () => {
  beforeAll(async () => {
    dir = await tempDir("doctor-brokers");
    domain = await makeDomain(dir);
    for (const id of [1, 2]) await startHost(id);
    const conf = await loadAgentConf(haPaths(roots.get(1)!).agentConf);
    pub = startPublishing(domain.metadata, [
      { id: 1, data: idle("EngineUp"), local: { engine: UP_GOOD }, conf },
      { id: 2, data: idle("EngineDown"), conf },
    ]);
  });
  afterAll(async () => {
    await pub?.stop();
    await Promise.allSettled(brokers.map((b) => b.stop()));
    if (dir) await removeDir(dir);
  });

  it("a healthy cluster: no warning and no error on either host, exit 0", async () => {
    for (const id of [1, 2]) {
      // alive hosts are known after host_alive_timeout of watching
      await doctorUntil("both hosts compared", id, (fs) =>
        fs.some((f) => f.check === "conf-equal") ? undefined : fs,
      );
      const r = await doctor(id);
      expect(problems(r.findings)).toEqual([]);
      expect(r.code).toBe(0);
    }
    const text = await runHeHa(roots.get(1)!, ["doctor"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("No problem found.");
  });

  it("a host with other score weights: both sides see the mismatch, exit 2", async () => {
    const root3 = await startHost(3, "network-score-penalty=1000");
    pub.add({
      id: 3,
      data: idle("EngineDown"),
      conf: await loadAgentConf(haPaths(root3).agentConf),
    });
    const seen = await doctorUntil("host 1 seeing host 3's weights", 1, (fs) => {
      const f = fs.find((x) => x.check === "conf-equal");
      return f ? fs : undefined;
    });
    expect(problems(seen)).toEqual([
      expect.objectContaining({
        severity: "error",
        check: "conf-equal",
        message: expect.stringContaining(
          "host 3 (host3.example.com) runs with another agent.conf [score]",
        ),
      }),
    ]);
    expect((await doctor(1)).code).toBe(2);
    const from3 = await doctorUntil("host 3 seeing hosts 1 and 2", 3, (fs) => {
      const c = fs.filter((x) => x.check === "conf-equal");
      return c.length === 2 ? c : undefined;
    });
    expect(from3.map((f) => f.message.slice(0, 28))).toEqual([
      "host 1 (host1.example.com) r",
      "host 2 (host2.example.com) r",
    ]);
  });

  it("a missing watchdog device is an error on that host only", async () => {
    await rm(path.join(roots.get(2)!, "dev/watchdog"));
    // the broker re-checks on its own schedule (at least every second): the next run shows it
    const found = await doctorUntil("host 2's watchdog finding", 2, (fs) => {
      const w = problems(fs).filter((f) => f.check === "watchdog");
      return w.length > 0 ? w : undefined;
    });
    expect(found).toEqual([
      expect.objectContaining({
        severity: "error",
        message: expect.stringContaining("no watchdog device"),
      }),
    ]);
    expect((await doctor(1)).findings.some((f) => f.check === "watchdog")).toBe(false);
  });

  it("a block written with a clock 5 minutes ahead: a clock-skew warning", async () => {
    pub.add({ id: 4, data: idle("EngineDown"), clockOffset: 300 });
    const skew = await doctorUntil("host 4's skew", 1, (fs) =>
      fs.find((f) => f.check === "clock-skew"),
    );
    expect(skew.severity).toBe("warning");
    const m = /^host 4 \(host4\.example\.com\)'s clock is (\d+) s ahead of this host's/.exec(
      skew.message,
    );
    // measured against when the broker saw the block change: within a loop and a cycle
    expect(Math.abs(Number(m?.[1]) - 300)).toBeLessThanOrEqual(
      TIMING.loop_delay + TIMING.broker_storage_cycle + 1,
    );
  });

  it("a dead host's block: stale after N seconds, with the exact clean-metadata command, and its metric", async () => {
    pub.silence(3);
    const stale = await doctorUntil(
      "host 3 stale",
      1,
      (fs) => fs.find((f) => f.check === "stale-hosts"),
      "--stale-after",
      "5",
    );
    expect(stale.severity).toBe("warning");
    expect(stale.fix).toContain("hosted-engine --clean-metadata --force-cleanup --host-id=3");
    // the default (an hour) does not call it stale yet
    expect((await doctor(1)).findings.some((f) => f.check === "stale-hosts")).toBe(false);
    const metrics = await brokers[0]!.client.metricsText();
    expect(metrics).toContain('ovirt_ha_doctor_finding{check="clock-skew",severity="warning"} 1');
  });
});
