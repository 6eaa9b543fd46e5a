import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { productionEnv, timerSleep } from "../../src/agent/env.js";
import { fileStartFailureRecord } from "../../src/agent/start-failure-record.js";
import { freshStartFailure } from "../../src/broker/monitors/start-failure-reader.js";
import { hostConfigFrom } from "../../src/common/host-config.js";
import { silentLogger } from "../../src/common/log.js";
import { haPaths } from "../../src/common/paths.js";
import { removeDir, tempDir } from "../support/temp.js";

let dir: string | undefined;
afterEach(async () => {
  if (dir) await removeDir(dir);
  dir = undefined;
});

describe("the agent's production environment", () => {
  it("reads ha.conf from the host's path, and a missing file means no maintenance", async () => {
    dir = await tempDir("env");
    const paths = haPaths(dir);
    const env = productionEnv({
      hostConf: hostConfigFrom(new Map([["host_id", "1"]]), "hosted-engine.conf"),
      paths,
      volumes: { domain: dir, conf: "" },
      log: silentLogger,
      clock: () => 42,
    });
    expect((await env.readHaConf()).localMaintenance).toBe(false);
    await mkdir(path.dirname(paths.haConf), { recursive: true });
    await writeFile(paths.haConf, "local_maintenance=True\n");
    expect((await env.readHaConf()).localMaintenance).toBe(true);
    expect(env.clock()).toBe(42);
  });

  it("sleep ends as soon as the signal aborts", async () => {
    const ac = new AbortController();
    const slept = timerSleep(3_600_000, ac.signal);
    ac.abort();
    await expect(slept).resolves.toBeUndefined();
  });

  it("a start failure recorded through the port is what the broker's engine-health monitor reads", async () => {
    dir = await tempDir("env");
    const record = fileStartFailureRecord(dir);
    await record.record("Storage of VM is locked. Is another host already starting the VM?");
    expect(await freshStartFailure(dir)).toMatch(/^Storage of VM is locked/);
    await record.clear();
    expect(await freshStartFailure(dir)).toBeUndefined();
  });
});
