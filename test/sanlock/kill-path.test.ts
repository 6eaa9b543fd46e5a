import { execFile } from "node:child_process";
import { access, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initLeaseVolume, initResourceLease } from "../../lab/standins/lease-volume.js";
import { Libvirtd } from "../../lab/standins/libvirtd.js";
import { isAlive, pollUntil } from "../../lab/standins/processes.js";
import { SanlockDaemon } from "../../lab/standins/sanlock-daemon.js";
import { writeKillScript } from "../../src/agent/kill-path.js";
import { removeDir, tempDir } from "../support/temp.js";
import { LeaseAgentProcess } from "./lease-agent-process.js";

const run = promisify(execFile);
const VM_ID = "2e4f6a8c-1b3d-4f5a-9c7e-0d2f4b6a8c1e";

describe("losing the lockspace while the VM lease is held", () => {
  let dir: string;
  let host: SanlockDaemon;

  beforeAll(async () => {
    dir = await tempDir("killpath");
    host = await SanlockDaemon.start({ runDir: join(dir, "host1"), hostName: "host1" });
  });

  afterAll(async () => {
    await host?.kill9();
    await removeDir(dir);
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

  it("the agent's real kill script, run by sanlock, destroys the engine VM in a real libvirtd", async () => {
    // the lockspace the previous test made fail is dropped by the daemon once its holder
    // is gone; a join meanwhile would find that one (EEXIST) and the acquire fail (-28)
    await pollUntil(
      "the failed lockspace of the previous test to be gone",
      async () => !/^s hosted-engine:/m.test((await host.client(["client", "status"])).output),
      60_000,
      200,
    );
    const volume = join(dir, "lockspace-real.vol");
    await initLeaseVolume(volume, { ioTimeout: 1 });
    await initResourceLease(volume, "hosted-engine", VM_ID, 1_048_576);
    const libvirtd = await Libvirtd.start({ dir: join(dir, "libvirtd") });
    const virsh = (...args: string[]) => run("virsh", ["-c", libvirtd.uri, ...args]);
    const xml = join(dir, "engine.xml");
    await writeFile(
      xml,
      `<domain type='test'><name>HostedEngine</name><uuid>${VM_ID}</uuid><memory>1048576</memory><os><type>hvm</type></os></domain>`,
    );
    // the script exactly as the agent writes it (src/agent/kill-path.ts)
    const kp = await writeKillScript(join(dir, "agent-run"), libvirtd.uri, VM_ID);
    const agent = new LeaseAgentProcess(
      host.runDir,
      volume,
      1,
      VM_ID,
      ["join", "acquire", "hold"],
      { LEASE_KILLPATH: kp.path },
    );
    try {
      await virsh("create", xml);
      expect((await virsh("domstate", VM_ID)).stdout.trim()).toBe("running");
      await agent.waitResults(3);
      expect(agent.results[1]).toEqual({ step: "acquire", result: "acquired" });
      await truncate(volume, 0);
      await pollUntil(
        "the engine VM destroyed by the kill script",
        async () => !(await virsh("list", "--uuid")).stdout.includes(VM_ID),
        40_000,
        200,
      );
      // the holder was not SIGKILLed: the kill path ran instead, and the script did it
      expect(isAlive(agent.pid)).toBe(true);
      const dump = await host.client(["client", "log_dump"]);
      // sanlock's own record: it ran the holder's kill path ("sig 100" = SANLK_KILLPATH)
      expect(dump.output).toMatch(/s1 kill \d+ sig 100 count 1/);
    } finally {
      await agent.kill9();
      await libvirtd.stop();
    }
  }, 90_000);
});
