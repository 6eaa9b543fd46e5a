import { appendFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollFor } from "../../lab/standins/processes.js";
import { BrokerClient } from "../../src/broker/client.js";
import { type RunningBroker, startBroker } from "../../src/broker/daemon.js";
import { silentLogger } from "../../src/common/log.js";
import { haPaths } from "../../src/common/paths.js";
import { resolveTiming, TimingError } from "../../src/common/timing.js";
import { removeDir, tempDir } from "../support/temp.js";
import { makeDomain, makeHostRoot } from "./broker-harness.js";

/** A /proc/meminfo holding `mib` MiB available. */
function meminfo(mib: number): string {
  return `MemTotal:       16384000 kB\nMemFree:         1000000 kB\nMemAvailable:   ${mib * 1024} kB\n`;
}

describe("broker monitor interval from agent.conf [timing] monitor_interval", () => {
  let dir: string;
  let proc: string;
  let broker: RunningBroker | undefined;
  let client: BrokerClient | undefined;

  beforeAll(async () => {
    dir = await tempDir("monitor-interval");
    proc = path.join(dir, "proc");
    await mkdir(proc, { recursive: true });
    await writeFile(path.join(proc, "meminfo"), meminfo(1000));
    const domain = await makeDomain(path.join(dir, "sd"), { lockspace: false });
    const root = await makeHostRoot(dir, 1, domain);
    await appendFile(haPaths(root).agentConf, "monitor_interval=0.5\n");
    // only /proc is replaced: the interval comes from agent.conf, as in production
    broker = await startBroker({ root, log: silentLogger, monitorDeps: { procRoot: proc } });
    client = new BrokerClient(broker.socketPath, { timeoutMs: 10_000 });
  });

  afterAll(async () => {
    client?.close();
    await broker?.stop();
    await removeDir(dir);
  });

  it("reads the key into the broker's timing", () => {
    expect(broker?.agentConf.timing.monitor_interval).toBe(0.5);
  });

  it("refreshes mem-free on every change long before the original's fixed 10 s would", async () => {
    const c = client!;
    expect(await c.startMonitor("mem-free")).toBe("mem-free");
    await pollFor("the first mem-free value", async () =>
      (await c.statusMonitor("mem-free")) === "1000" ? true : undefined,
    );
    // at a fixed 10 s the second probe would come after every deadline below
    for (const mib of [2000, 3000, 4000]) {
      await writeFile(path.join(proc, "meminfo"), meminfo(mib));
      const seen = await pollFor(
        `mem-free ${mib}`,
        async () => ((await c.statusMonitor("mem-free")) === String(mib) ? true : undefined),
        8_000,
      );
      expect(seen).toBe(true);
    }
  });
});

describe("resolveTiming monitor_interval", () => {
  it("defaults to the original's 10 s and takes a fraction", () => {
    expect(resolveTiming().monitor_interval).toBe(10);
    expect(resolveTiming({ monitor_interval: "0.5" }).monitor_interval).toBe(0.5);
  });

  it("refuses 0, which would probe in a busy loop", () => {
    expect(() => resolveTiming({ monitor_interval: "0" })).toThrow(TimingError);
    expect(() => resolveTiming({ monitor_interval: "0" })).toThrow(
      /monitor_interval="0" must be above 0/,
    );
  });
});
