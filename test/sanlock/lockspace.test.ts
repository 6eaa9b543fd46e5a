import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initLeaseVolume } from "../../lab/standins/lease-volume.js";
import type { SanlockDaemon } from "../../lab/standins/sanlock-daemon.js";
import { silentLogger } from "../../src/common/log.js";
import {
  LockspaceIdConflictError,
  LockspaceJoinError,
  SanlockError,
} from "../../src/sanlock/errors.js";
import { Lockspace, type LockspaceSpec } from "../../src/sanlock/lockspace.js";
import { runLeaseAgent } from "./lease-agent-process.js";
import { startTwoSanlockHosts, type TwoSanlockHosts } from "./two-hosts.js";

const VM_ID = "5a3b2c1d-0e9f-4a8b-9c7d-6e5f4a3b2c1d";

describe("sanlock lockspace against real unprivileged daemons", () => {
  let hosts: TwoSanlockHosts | undefined;
  let dir: string;
  let volume: string;
  let host1: SanlockDaemon;
  let host2: SanlockDaemon;
  let spec: LockspaceSpec;
  const lockspace = new Lockspace({ log: silentLogger, retryDelayMs: 100 });

  beforeAll(async () => {
    hosts = await startTwoSanlockHosts("lockspace", VM_ID);
    ({ dir, volume, host1, host2 } = hosts);
    // libsanlock in this process talks to host 1's daemon
    process.env.SANLOCK_RUN_DIR = host1.runDir;
    spec = { name: "hosted-engine", hostId: 1, path: volume, offset: 0, ioTimeout: 1 };
  });

  afterAll(async () => {
    await hosts?.stop();
  });

  it("is not held before joining", async () => {
    expect(await lockspace.inqLockspace(spec)).toBe(false);
  });

  it("joins, then reports the lockspace held", async () => {
    const joining = lockspace.addLockspace(spec);
    expect(await joining).toBe("joined");
    expect(await lockspace.inqLockspace(spec)).toBe(true);
    const { output } = await host1.client(["client", "status"]);
    expect(output).toContain(`s hosted-engine:1:${volume}:0`);
  });

  it("treats a second join with the same id as already joined (EEXIST)", async () => {
    expect(await lockspace.addLockspace(spec)).toBe("already-joined");
  });

  it("refuses a join with another host id on the same daemon (EINVAL) with a fatal error", async () => {
    const err = await lockspace.addLockspace({ ...spec, hostId: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockspaceIdConflictError);
    expect((err as Error).message).toContain("host id other than 3");
    expect(await lockspace.inqLockspace(spec)).toBe(true);
  });

  it("lets a second daemon join the same lockspace file with another host id", async () => {
    const results = await runLeaseAgent(host2.runDir, volume, 2, VM_ID, ["join", "leave"]);
    expect(results).toEqual([
      { step: "join", result: "joined" },
      { step: "leave", result: "left" },
    ]);
    const { output } = await host1.client(["client", "host_status", "-s", "hosted-engine"]);
    expect(output).toMatch(/^1 timestamp/m);
    expect(output).toMatch(/^2 timestamp/m);
  });

  it("leaves the lockspace; leaving again reports not joined", async () => {
    expect(await lockspace.remLockspace(spec)).toBe("left");
    expect(await lockspace.inqLockspace(spec)).toBe(false);
    expect(await lockspace.remLockspace(spec)).toBe("not-joined");
  });

  it("retries a join on a missing volume, waiting between attempts, then gives up", async () => {
    const waits: number[] = [];
    const impatient = new Lockspace({
      log: silentLogger,
      attempts: 3,
      retryDelayMs: 1234,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    const err = await impatient
      .addLockspace({ ...spec, path: join(dir, "no-such-volume") })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockspaceJoinError);
    expect((err as LockspaceJoinError).attempts).toBe(3);
    expect(waits).toEqual([1234, 1234]);
  });

  it("fails clearly when the lockspace was never initialised on the volume", async () => {
    const blank = join(dir, "blank.vol");
    await initLeaseVolume(blank, { lockspace: "other-space" });
    const err = await lockspace.addLockspace({ ...spec, path: blank }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SanlockError);
  });
});
