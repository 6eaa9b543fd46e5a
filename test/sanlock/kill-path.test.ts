import { access, mkdtemp, rm, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initLeaseVolume, initResourceLease } from "../../src/sim/lease-volume.js";
import { isAlive, pollUntil } from "../../src/sim/processes.js";
import { SanlockDaemon } from "../../src/sim/sanlock-daemon.js";
import { LeaseAgentProcess } from "./lease-agent-process.js";

const VM_ID = "2e4f6a8c-1b3d-4f5a-9c7e-0d2f4b6a8c1e";

describe("losing the lockspace while the VM lease is held", () => {
  let dir: string;
  let host: SanlockDaemon;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "he-ha-killpath-"));
    host = await SanlockDaemon.start({ runDir: join(dir, "host1"), hostName: "host1" });
  });

  afterAll(async () => {
    await host?.kill9();
    await rm(dir, { recursive: true, force: true });
  });

  it("makes sanlock run the holder's kill path (e.g. destroy the VM) instead of signalling it", async () => {
    const volume = join(dir, "lockspace.vol");
    await initLeaseVolume(volume, { ioTimeout: 1 });
    await initResourceLease(volume, "hosted-engine", VM_ID, 1_048_576);
    const marker = join(dir, "kill-path-ran");
    const agent = new LeaseAgentProcess(
      host.runDir,
      volume,
      1,
      VM_ID,
      ["join", "acquire", "hold"],
      {
        LEASE_KILLPATH: `/usr/bin/touch ${marker}`,
      },
    );
    try {
      await agent.waitResults(3);
      expect(agent.results.slice(0, 2)).toEqual([
        { step: "join", result: "joined" },
        { step: "acquire", result: "acquired" },
      ]);
      // the storage goes away: delta lease renewals fail, after 8 x io_timeout the
      // lockspace fails and sanlock must stop whoever holds a lease in it
      await truncate(volume, 0);
      await pollUntil(
        "sanlock to run the kill path",
        () =>
          access(marker).then(
            () => true,
            () => false,
          ),
        40_000,
        200,
      );
      expect(isAlive(agent.pid)).toBe(true);
    } finally {
      await agent.kill9();
    }
  }, 60_000);
});
