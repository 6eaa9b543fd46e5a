import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil } from "../../lab/standins/processes.js";
import type { StorageInitResult } from "../../src/storage/init.js";
import { runHeHa } from "../cli/harness.js";
import {
  type AgentHost,
  engineLeaseRe,
  FAST,
  smallVmConf,
  startTwoHosts,
  type TwoHosts,
} from "./agent-host.js";

/**
 * Two agents on hosts configured the way VDSM configures oVirt hosts: libvirt runs real
 * QEMU (KVM where the machine has /dev/kvm, else software emulation) with
 * `lock_manager = "sanlock"`, so libvirt takes the engine VM's lease for the qemu
 * process and the agent (vm_lease_holder=auto, reading qemu.conf) takes nothing itself. Exclusivity then comes from libvirt's lock manager.
 */
describe("two agents where libvirt's sanlock lock manager holds the engine VM lease (real QEMU)", () => {
  let cluster: TwoHosts;
  let storage: StorageInitResult;
  let h1: AgentHost;
  let h2: AgentHost;

  beforeAll(async () => {
    cluster = await startTwoHosts("agent-lockmgr", {
      vmConf: smallVmConf,
      // host 1's agent cannot read qemu.conf (root-only on some distributions): it finds
      // the lock manager at its first start; host 2's agent reads it
      host: (id) => ({ hypervisor: "qemu", qemuConf: id === 2 }),
    });
    ({ storage, h1, h2 } = cluster);
  }, 120_000);

  afterAll(async () => {
    await cluster?.destroy();
  }, 120_000);

  /** pid of the process holding the engine VM lease on `h`, per its sanlock daemon */
  const leaseHolderPid = async (h: AgentHost) => {
    const m = engineLeaseRe(storage, "\\S+ p (\\d+)$").exec(await h.sanlockStatus());
    return m ? Number(m[1]) : undefined;
  };
  const commOf = async (pid: number) => (await readFile(`/proc/${pid}/comm`, "utf8")).trim();

  it("host 1 starts the engine and the lease is qemu's, found without qemu.conf; host 2 stays EngineDown", async () => {
    await h1.startAgent();
    await h1.waitState("EngineUp", 120_000);
    const log = await h1.agentLog();
    expect(log).toContain("engine VM lease: taken by the agent before the VM starts");
    expect(log).toContain("leaving the lease to libvirt from now on");
    expect(log.match(/"msg":"engine VM started"/g)).toHaveLength(1);
    const pid = await leaseHolderPid(h1);
    expect(pid).toBeDefined();
    expect(await commOf(pid!)).toMatch(/^qemu/);
    await h2.startAgent();
    await h2.waitState("EngineDown", 60_000);
    expect(await h2.agentLog()).toContain(
      "engine VM lease: taken by libvirt's sanlock lock manager for qemu",
    );
    expect(await h2.vmState()).toBe("absent");
  }, 240_000);

  it("when host 1 looks dead, libvirt's lock manager refuses host 2's start: storage locked", async () => {
    await h1.stopBroker();
    await pollUntil(
      "host 2 to try a start",
      async () => /Failed to acquire lock/.test(await h2.agentLog()),
      60_000,
      200,
    );
    await pollUntil(
      "host 2's block to report the lock",
      async () => {
        const b = await h2.ownBlock();
        return /Storage of VM is locked/.test(b?.engineStatus?.reason ?? "");
      },
      60_000,
      200,
    );
    // host 2 keeps retrying; its VM never runs: at most its qemu waits paused while
    // libvirt asks sanlock for the lease, and is gone when sanlock refuses. Looked at
    // throughout three more of host 2's loops (its published timestamps), not a fixed time.
    const seen = (await h2.ownBlock())!.timestamp;
    await pollUntil(
      "three more loops of host 2",
      async () => {
        expect(await h2.vmState()).not.toBe("running");
        return ((await h2.ownBlock())?.timestamp ?? 0) >= seen + 3 * FAST.loop_delay;
      },
      60_000,
      250,
    );
    expect(await h2.agentLog()).not.toContain('"msg":"engine VM started"');
    expect(await h1.vmState()).toBe("running");
  }, 180_000);

  it("host 1's agent restarts while the VM runs: the VM and qemu's lease are left alone", async () => {
    await h1.startBroker();
    const pid = await leaseHolderPid(h1);
    expect(await h1.stopAgent()).toBe(0);
    const before = (await h1.agentLog()).length;
    await h1.startAgent();
    await h1.waitState("EngineUp", 90_000);
    await h2.waitState("EngineDown", 90_000);
    const after = (await h1.agentLog()).slice(before);
    expect(after).toContain("engine VM already running here");
    // the new agent (no qemu.conf either) tells qemu's hold from an orphan of its own
    expect(after).toContain("leaving the lease to libvirt from now on");
    expect(after).not.toMatch(/engine VM started|engine VM shutdown requested|powered off/);
    expect(await leaseHolderPid(h1)).toBe(pid);
    expect(await h2.vmState()).toBe("absent");
  }, 180_000);

  it("he-ha vm start on host 2 is refused by libvirt's lock manager, saying why", async () => {
    const r = await runHeHa(h2.root, ["vm", "start"], h2.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "refusing to start the engine VM: libvirt's sanlock lock manager cannot take its lease",
    );
    expect(r.stderr).toContain("Failed to acquire lock");
    expect(await h2.vmState()).not.toBe("running");
    expect(await h1.vmState()).toBe("running");
  }, 120_000);

  it("he-ha vm poweroff and start on host 1, which cannot read qemu.conf: libvirt ends up with the lease", async () => {
    expect(await h2.stopAgent()).toBe(0);
    expect(await h1.stopAgent()).toBe(0);
    const off = await runHeHa(h1.root, ["vm", "poweroff"], h1.env);
    expect(off.code, off.stderr).toBe(0);
    await pollUntil(
      "qemu's lease to go",
      async () => (await leaseHolderPid(h1)) === undefined,
      10_000,
    );
    const r = await runHeHa(h1.root, ["vm", "start", "--json"], h1.env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: "started", lease: "left-to-libvirt" });
    expect(await h1.vmState()).toBe("running");
    expect(await commOf((await leaseHolderPid(h1))!)).toMatch(/^qemu/);
  }, 120_000);
});
