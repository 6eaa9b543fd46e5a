import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DemoCluster } from "../../lab/demo/cluster.js";
import { runDemo, summary } from "../../lab/demo/run.js";
import { PythonHost } from "../../lab/standins/python-host.js";

/**
 * The demo on block storage (`--storage block`): an iSCSI hosted-engine domain whose
 * LVs are loop devices (no device-mapper here), reached on every host through a VDSM
 * protocol server (lab/demo/block-storage.ts), the engine VM run by it in the host's
 * libvirtd under the engine disk's volume lease on the `leases` device, taken as
 * libvirt's sanlock lock driver takes it (python3-sanlock registered with the host's own
 * sanlock daemon). Real sanlock daemons, libvirtd, whole agent and broker processes.
 * Needs `npm run build` and root.
 */
describe.sequential("block storage (iSCSI through VDSM, loop devices for the LVs)", () => {
  let cluster: DemoCluster | undefined;
  let python: PythonHost | undefined;

  afterAll(async () => {
    await python?.stop();
    await cluster?.teardown();
  });

  it("failover on 4K-sector LVs: the engine host dies hard and another host runs the engine, never on two at once", async () => {
    const r = await runDemo({
      hosts: 2,
      scenario: "failover",
      json: true,
      live: false,
      storage: "block",
      sectorSize: 4096,
    });
    if (!r.ok) console.error(summary(r), r.timeline.join("\n"));
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.doubleRuns).toEqual([]);
    expect(r.overlaps).toEqual([]);
    expect(r.hypervisorSamples).toBeGreaterThan(10);
    expect(r.sectorSize).toBe(4096);
    expect(r.figures.failover_seconds).toBeGreaterThan(r.figures.detection_seconds!);
    expect(r.timeline.some((l) => l.includes("4096-byte sectors) stand in for its LVs"))).toBe(
      true,
    );
  }, 400_000);

  it("a whole agent on domainType=iscsi: EngineDown while a python3-sanlock host holds the engine lease on the leases LV; EngineUp under the lease once it lets go", async () => {
    cluster = await DemoCluster.create({ hosts: 1, storage: "block" });
    const c = cluster;
    const storage = c.storage!;
    const luns = c.luns!;
    const lease = {
      lockspace: storage.sdUUID,
      resource: storage.engineDisk.volumeUUID,
      path: luns.devices.leases,
      offset: storage.engineDisk.leaseOffset,
    };
    // the lease is a slot of the leases LV, past VDSM's 100 reserved ones
    expect(storage.engineDisk.leaseOffset).toBeGreaterThanOrEqual(101 * storage.geometry.alignment);
    // another host of the Python services: VDSM's join of the domain's lockspace, libvirt's
    // acquire for its qemu
    python = await PythonHost.start(path.join(c.baseDir, "python-host"), "pyhost");
    expect(await python.join(storage.sdUUID, 2, luns.devices.ids, c.profile.ioTimeout)).toBe(
      "ok join",
    );
    expect(await python.acquire(lease)).toBe("ok acquire");
    const host = c.host(1);
    await c.startAll();
    const vdsm = host.vdsm!.server!;
    // the agent tried: VDSM's VM went Down with libvirt's lock error, nothing runs here
    await c.waitFor(
      "a start refused by the lease",
      () =>
        vdsm.calls.some((x) => x.method === "VM.create") &&
        [...vdsm.vms.values()].some((v) => v.exitMessage?.startsWith("Failed to acquire lock")),
      180,
    );
    await c.waitFor(
      "host1 in EngineDown",
      async () => (await c.states()).get(1)?.state === "EngineDown",
      120,
    );
    expect(await c.sampleHypervisors()).toEqual([]);
    expect(await python.owners(lease)).toMatch(/^ok owners 2:/);
    // the storage came up through VDSM as iSCSI, the volumes where Image.prepare put them
    const methods = vdsm.methods();
    expect(methods).toContain("StoragePool.connectStorageServer");
    expect(methods).toContain("Image.prepare");
    expect(methods).toContain("Host.startMonitoringDomain");
    const con = vdsm.calls.find((x) => x.method === "StoragePool.connectStorageServer");
    expect(con?.params.domainType).toBe(3);
    expect(vdsm.violations).toEqual([]);
    // the Python host lets go: host1 starts the engine under the lease
    expect(await python.release(lease)).toBe("ok release");
    await c.waitFor(
      "host1 in EngineUp",
      async () => (await c.states()).get(1)?.state === "EngineUp",
      240,
    );
    expect(c.engineHosts).toEqual([1]);
    expect((await c.leases()).get(1)).toEqual({ lockspace: true, vmLease: true });
    expect(await python.owners(lease)).toMatch(/^ok owners 1:/);
    expect(c.doubleRuns).toEqual([]);
  }, 600_000);
});
