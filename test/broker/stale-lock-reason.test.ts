import { randomUUID } from "node:crypto";
import { appendFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { START_FAILURE_FILE } from "../../src/broker/monitors/start-failure-reader.js";
import { haPaths } from "../../src/common/paths.js";
import { type BrokerHost, startBrokerHost } from "../cli/cluster.js";
import { blockInput, writeHostBlock } from "../support/whiteboard.js";

/**
 * A real ovirt-ha-broker (libvirt's test driver as its hypervisor): the engine-health
 * monitor reports a refused start here as "Storage of VM is locked" only until another
 * host, whose block the broker sees changing, reports the engine VM up.
 */
const LOCKED = "Storage of VM is locked. Is another host already starting the VM?";

describe("the 'Storage of VM is locked' reason", () => {
  let host: BrokerHost;
  beforeAll(async () => {
    host = await startBrokerHost(1, async (s) => {
      const p = haPaths(s.root);
      await appendFile(p.hostConf, "libvirt_uri=test:///default\n");
      // liveness judged within 1 s of history, so the test takes seconds
      await appendFile(p.agentConf, "host_alive_timeout = 1\nmonitor_interval = 0.2\n");
    });
  }, 60_000);
  afterAll(async () => {
    await host?.stop();
  });

  it("is dropped once another live host reports the engine VM up", async () => {
    const c = host.client;
    const runDir = haPaths(host.root).runDir;
    await mkdir(runDir, { recursive: true });
    // the agent here just had a start refused on the VM lease
    await writeFile(
      path.join(runDir, START_FAILURE_FILE),
      JSON.stringify({ reason: LOCKED, at: Date.now() }),
    );
    const id = await c.startMonitor("engine-health", {
      vm_uuid: randomUUID(),
      health_timeout: "1",
    });
    /** polls the monitor until `ok`; `tick` runs between polls (bounded by the test's timeout) */
    const until = async (
      ok: (v: { vm: string; reason?: string }) => boolean,
      tick?: () => Promise<void>,
    ) => {
      for (;;) {
        const raw = await c.statusMonitor(id);
        if (raw !== "None" && ok(JSON.parse(raw))) return;
        await tick?.();
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    // nobody else runs the engine: the refused start shows
    await until((v) => v.vm === "down" && v.reason === LOCKED);
    // host 2's agent publishes the engine VM up, its timestamp moving
    let ts = 2000;
    await until(
      (v) => v.vm === "down" && v.reason === "vm not running on this host",
      () =>
        writeHostBlock(
          host.volumes.metadata,
          blockInput(2, {
            timestamp: ts++,
            engineStatus: { vm: "up", health: "good", detail: "Up" },
          }),
        ),
    );
    const s = await c.status();
    expect(s.hosts.find((h) => h.host_id === 2)?.timestamp_changing).toBe(true);
    await c.stopMonitor(id);
  }, 60_000);
});
