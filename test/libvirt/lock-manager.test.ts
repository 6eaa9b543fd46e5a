/**
 * The engine VM lease on hosts where libvirt's own sanlock lock manager is on
 * (`lock_manager = "sanlock"`, as VDSM configures oVirt hosts): lease holder `libvirt`.
 * Two hosts, each with a real sanlock daemon and a libvirtd running real QEMU (software
 * emulation) with the sanlock lock manager; one storage domain; the engine VM as the
 * agent defines it (LibvirtVm, domain XML from vm.conf with oVirt's `<lease>`: the engine
 * disk's volume lease, in the storage domain's lockspace joined on dom_md/ids).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Libvirtd } from "../../lab/standins/libvirtd.js";
import { pollUntil } from "../../lab/standins/processes.js";
import { SanlockDaemon } from "../../lab/standins/sanlock-daemon.js";
import { LibvirtVm } from "../../src/agent/libvirt-vm.js";
import { isLeaseRefusedByLibvirt } from "../../src/agent/start-failure-record.js";
import { silentLogger } from "../../src/common/log.js";
import { domainXmlFromVmConf } from "../../src/libvirt/domain-xml.js";
import { type EngineLease, engineLeaseRequests } from "../../src/storage/engine-lease.js";
import type { StorageInitResult } from "../../src/storage/init.js";
import { parseVmConf } from "../../src/storage/ovf/vmconf.js";
import type { VmConf } from "../../src/storage/ovf/vmconf-types.js";
import { engineLeaseOf, engineLeaseRe, makeStorage, smallVmConf } from "../agent/agent-host.js";
import { removeDir, tempDir } from "../support/temp.js";

interface Host {
  sanlock: SanlockDaemon;
  libvirtd: Libvirtd;
  vm: LibvirtVm;
}

describe("engine VM lease taken by libvirt's sanlock lock manager (real QEMU)", () => {
  let dir: string;
  let storage: StorageInitResult;
  let vmConf: VmConf;
  /** oVirt's lease of the engine VM, resolved as the agent resolves it */
  let leases: EngineLease[];
  const hosts: Host[] = [];
  const host = (id: number) => hosts[id - 1]!;

  /** the `r` line of the engine VM lease in `sanlock client status`, with its holder pid */
  const leaseLine = async (id: number) => {
    const out = (await host(id).sanlock.client(["client", "status"])).output;
    const m = engineLeaseRe(storage, "\\S+ p (\\d+)$").exec(out);
    return m ? { pid: Number(m[1]) } : undefined;
  };

  beforeAll(async () => {
    dir = await tempDir("lock-manager");
    const text = smallVmConf(crypto.randomUUID());
    storage = await makeStorage(dir, text);
    // the engine VM, small enough for software emulation: one small exclusive disk (its
    // volume lease guards the VM), no NICs or display (sims running side by side would
    // race for VNC ports)
    vmConf = parseVmConf(text, "vm.conf");
    leases = engineLeaseRequests(vmConf, {
      domainDir: storage.domain,
      sdUUID: storage.sdUUID,
      vmConfSource: "vm.conf",
    }) as EngineLease[];
    expect(leases[0]).toMatchObject(engineLeaseOf(storage));
    for (const id of [1, 2]) {
      const root = path.join(dir, `host${id}`);
      const sanlock = await SanlockDaemon.start({
        runDir: path.join(root, "sanlock"),
        hostName: `host${id}`,
      });
      const joined = await sanlock.addLockspace(
        storage.sdUUID,
        id,
        path.join(storage.domain, "dom_md", "ids"),
      );
      expect(joined.output).toContain("done 0");
      const libvirtd = await Libvirtd.start({
        dir: path.join(root, "libvirt"),
        hypervisor: "qemu",
        sanlockRunDir: sanlock.runDir,
      });
      const vm = new LibvirtVm({
        uri: libvirtd.uri,
        vmId: storage.vmId,
        domainXml: (conf, leases) =>
          domainXmlFromVmConf(conf, {
            domainType: "qemu",
            domainDir: storage.domain,
            bridge: "lo",
            leases,
          }),
        log: silentLogger,
      });
      hosts.push({ sanlock, libvirtd, vm });
    }
  }, 120_000);

  afterAll(async () => {
    for (const h of hosts) {
      await h.vm.close().catch(() => undefined);
      await h.libvirtd.stop().catch(() => undefined);
      await h.sanlock.stop().catch(() => undefined);
    }
    if (dir) await removeDir(dir);
  }, 120_000);

  it("host 1 starts the VM: libvirt takes the lease for the qemu process", async () => {
    await host(1).vm.start(vmConf, leases);
    expect(await host(1).vm.isActive()).toBe(true);
    const lease = await leaseLine(1);
    expect(lease).toBeDefined();
    // held by qemu, not by whoever asked libvirt to start it
    expect((await readFile(`/proc/${lease!.pid}/comm`, "utf8")).trim()).toMatch(/^qemu/);
  }, 60_000);

  it("host 2's start is refused by its lock manager, which the agent reports as storage locked", async () => {
    const err = (await host(2)
      .vm.start(vmConf, leases)
      .catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toContain("Failed to acquire lock");
    expect(isLeaseRefusedByLibvirt(err.message)).toBe(true);
    expect(await host(2).vm.isActive()).toBe(false);
    expect(await leaseLine(2)).toBeUndefined();
    expect(await host(1).vm.isActive()).toBe(true);
  }, 60_000);

  it("the VM powered off on host 1 frees the lease with qemu; host 2 then starts it", async () => {
    await host(1).vm.powerOff();
    await pollUntil("host 1's lease to go with qemu", async () => !(await leaseLine(1)), 10_000);
    await host(2).vm.start(vmConf, leases);
    expect(await host(2).vm.isActive()).toBe(true);
    expect(await leaseLine(2)).toBeDefined();
    // and host 1 is now the one refused
    const err = (await host(1)
      .vm.start(vmConf, leases)
      .catch((e: unknown) => e)) as Error;
    expect(isLeaseRefusedByLibvirt(err.message)).toBe(true);
    await host(2).vm.powerOff();
  }, 60_000);
});
