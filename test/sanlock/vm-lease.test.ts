import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SanlockDaemon } from "../../lab/standins/sanlock-daemon.js";
import { silentLogger } from "../../src/common/log.js";
import { LeaseHeldError } from "../../src/sanlock/errors.js";
import { Lockspace, type LockspaceSpec } from "../../src/sanlock/lockspace.js";
import { VmLease } from "../../src/sanlock/vm-lease.js";
import { LeaseAgentProcess, runLeaseAgent } from "./lease-agent-process.js";
import { startTwoSanlockHosts, type TwoSanlockHosts } from "./two-hosts.js";

const VM_ID = "0c7a5e3f-2b1d-4e8a-9f6c-3d2b1a0e9f8d";

/**
 * This test process is host 2 (its libsanlock talks to host 2's daemon); host 1's agent
 * runs as child processes, so "agent 1 exits and a new agent 1 starts" is real.
 */
describe("engine VM lease against real sanlock daemons", () => {
  let hosts: TwoSanlockHosts | undefined;
  let volume: string;
  let host1: SanlockDaemon;
  let host2: SanlockDaemon;
  let ls2: LockspaceSpec;
  let lease2: VmLease;
  const lockspace = new Lockspace({ log: silentLogger, retryDelayMs: 100 });

  beforeAll(async () => {
    hosts = await startTwoSanlockHosts("vmlease", VM_ID);
    ({ volume, host1, host2 } = hosts);
    process.env.SANLOCK_RUN_DIR = host2.runDir;
    ls2 = { name: "hosted-engine", hostId: 2, path: volume, offset: 0, ioTimeout: 1 };
    lease2 = new VmLease(
      { lockspace: "hosted-engine", resource: VM_ID, path: volume, offset: 1_048_576, hostId: 2 },
      { log: silentLogger },
    );
    await lockspace.addLockspace(ls2);
  });

  afterAll(async () => {
    // sanlock's forced shutdown SIGKILLs processes holding leases: this one must not be one
    await lease2?.release().catch(() => undefined);
    lease2?.close();
    await hosts?.stop();
  });

  it("is free at first", async () => {
    expect(await lease2.owner()).toBeNull();
    expect(await lease2.inquire()).toBe("not-held");
  });

  it("is acquired by host 1's agent and kept as an orphan when that agent exits", async () => {
    const results = await runLeaseAgent(host1.runDir, volume, 1, VM_ID, [
      "join",
      "acquire",
      "inquire",
    ]);
    expect(results).toEqual([
      { step: "join", result: "joined" },
      { step: "acquire", result: "acquired" },
      { step: "inquire", result: "held" },
    ]);
    const { output } = await host1.client(["client", "status"]);
    expect(output).toMatch(new RegExp(`^r hosted-engine:${VM_ID}:.* ORPHAN$`, "m"));
    expect((await lease2.owner())?.hostId).toBe(1);
  });

  it("is refused to host 2 with LeaseHeldError naming host 1", async () => {
    const err = await lease2.acquire().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseHeldError);
    expect((err as LeaseHeldError).ownerHostId).toBe(1);
    expect(await lease2.inquire()).toBe("not-held");
  });

  it("cannot be taken by host 2 while host 1 leaves the lockspace: leaving is refused", async () => {
    const results = await runLeaseAgent(host1.runDir, volume, 1, VM_ID, ["inquire", "leave"]);
    expect(results).toEqual([
      { step: "inquire", result: "held" },
      { step: "leave", result: "busy" },
    ]);
    await expect(lease2.acquire()).rejects.toBeInstanceOf(LeaseHeldError);
  });

  it("is adopted by a new host 1 agent, survives while it runs, and is released by it", async () => {
    const agent = new LeaseAgentProcess(host1.runDir, volume, 1, VM_ID, [
      "join",
      "adopt",
      "inquire",
      "hold",
      "release",
      "inquire",
    ]);
    try {
      const held = await agent.waitResults(4);
      expect(held).toEqual([
        { step: "join", result: "already-joined" },
        { step: "adopt", result: true },
        { step: "inquire", result: "held" },
        { step: "hold", result: "holding" },
      ]);
      const { output } = await host1.client(["client", "status"]);
      expect(output).toMatch(new RegExp(`^r hosted-engine:${VM_ID}:.* p ${agent.pid}$`, "m"));
      await expect(lease2.acquire()).rejects.toBeInstanceOf(LeaseHeldError);
    } finally {
      await agent.finish();
    }
    expect(agent.results.slice(4)).toEqual([
      { step: "hold", result: "done" },
      { step: "release", result: "released" },
      { step: "inquire", result: "not-held" },
    ]);
    expect(await lease2.owner()).toBeNull();
  });

  it("is then acquired by host 2 and refused to host 1", async () => {
    expect(await lease2.acquire()).toBe("acquired");
    expect(await lease2.acquire()).toBe("already-held");
    expect(await lease2.inquire()).toBe("held");
    const results = await runLeaseAgent(host1.runDir, volume, 1, VM_ID, ["acquire"]);
    expect(results[0]).toMatchObject({ step: "acquire", error: "LeaseHeldError" });
    expect(results[0]?.message).toContain("host 2");
    expect(await lease2.release()).toBe("released");
    expect(await lease2.release()).toBe("not-held");
  });

  it("releases an orphan left by a crashed agent (SIGKILL)", async () => {
    const agent = new LeaseAgentProcess(host1.runDir, volume, 1, VM_ID, ["acquire", "hold"]);
    await agent.waitResults(2);
    expect(agent.results[0]).toEqual({ step: "acquire", result: "acquired" });
    await agent.kill9();
    const results = await runLeaseAgent(host1.runDir, volume, 1, VM_ID, [
      "inquire",
      "release",
      "inquire",
    ]);
    expect(results).toEqual([
      { step: "inquire", result: "held" },
      { step: "release", result: "released" },
      { step: "inquire", result: "not-held" },
    ]);
    expect(await lease2.owner()).toBeNull();
  });

  // sanlock 3.8 declares a silent host dead after 8 x io_timeout + 60 s (its fixed
  // watchdog fire timeout): 68 s with io_timeout 1. Before that, the lease stays refused.
  it("is taken over from a host whose sanlock died, once that host is dead", async () => {
    const agent = new LeaseAgentProcess(host1.runDir, volume, 1, VM_ID, ["acquire", "hold"]);
    await agent.waitResults(2);
    expect(agent.results[0]).toEqual({ step: "acquire", result: "acquired" });
    await host1.kill9();
    await agent.kill9();
    await expect(lease2.acquire()).rejects.toBeInstanceOf(LeaseHeldError);
    let acquired = false;
    for (let i = 0; i < 200 && !acquired; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      acquired = await lease2.acquire().then(
        () => true,
        (e: unknown) => {
          if (!(e instanceof LeaseHeldError)) throw e;
          return false;
        },
      );
    }
    expect(acquired).toBe(true);
    expect((await lease2.owner())?.hostId).toBe(2);
    expect(await lease2.release()).toBe("released");
  }, 150_000);
});
