import { appendFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil } from "../../lab/standins/processes.js";
import { installVdsmPki, makeTestPki } from "../../lab/standins/vdsm/certs.js";
import { FakeVdsm } from "../../lab/standins/vdsm/fake-vdsm.js";
import { silentLogger } from "../../src/common/log.js";
import { HypervisorConnection } from "../../src/libvirt/hypervisor.js";
import type { StorageInitResult } from "../../src/storage/init.js";
import { ovfStoreDescription } from "../../src/storage/volume-meta.js";
import { AgentHost, makeStorage, startHealthServer } from "../agent/agent-host.js";
import { removeDir, tempDir } from "../support/temp.js";

/**
 * A real ovirt-ha-agent and ovirt-ha-broker (with sanlock and a libvirtd stand-in) on a host
 * carrying VDSM's key and certificate: the agent picks the VDSM backend by itself and
 * runs the engine VM through the VDSM protocol test server, which launches it in the
 * host's libvirtd (as VDSM launches qemu through libvirt). The broker, on the same
 * host, watches the engine VM through VDSM's VM.getStats by the same choice.
 */
let dir: string;
let storage: StorageInitResult;
let health: Awaited<ReturnType<typeof startHealthServer>>;
let host: AgentHost;
let vdsm: FakeVdsm;
let hv: HypervisorConnection;

beforeAll(async () => {
  dir = await tempDir("agent-vdsm");
  const pki = await makeTestPki(path.join(dir, "pki"));
  health = await startHealthServer();
  storage = await makeStorage(dir);
  host = await AgentHost.create(path.join(dir, "host1"), 1, storage, health.fqdn);
  hv = new HypervisorConnection(host.libvirtd.uri, silentLogger, { minBackoffMs: 0 });
  const vmXml = (id: string) =>
    `<domain type='test'><name>HostedEngine</name><uuid>${id}</uuid><memory unit='MiB'>512</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>`;
  vdsm = new FakeVdsm({
    ca: pki.ca,
    key: pki.server.key,
    cert: pki.server.cert,
    launcher: {
      launch: async (id) => {
        await hv.startDomain(vmXml(id));
      },
      stop: async (id) => {
        await hv.destroyDomain(id);
      },
      running: async (id) => (await hv.domainState(id))?.state === "running",
    },
  });
  // the host's bridge (hosted-engine.conf bridge=lo) as VDSM reports it to the broker
  vdsm.network = { lo: { state: "up" } };
  // the volumes VDSM reports of the domain: the engine disk with its volume lease (the
  // `.lease` file of a file domain, as VDSM's Volume.getInfo gives it) and the OVF_STORE
  const disk = storage.engineDisk;
  vdsm.volumes.set(`${storage.sdUUID}/${disk.imageUUID}/${disk.volumeUUID}`, {
    path: disk.path,
    description: "hosted-engine disk",
    lease: { path: disk.leasePath, offset: 0, owners: [], version: null },
  });
  const ovf = storage.volumes.ovfStore;
  if (ovf)
    vdsm.volumes.set(`${storage.sdUUID}/${ovf.imageUUID}/${ovf.volumeUUID}`, {
      path: ovf.path,
      description: ovfStoreDescription(storage.sdUUID, 1024 * 1024),
    });
  await vdsm.start();
  // the host's VDSM PKI, where the agent looks for it
  await installVdsmPki(host.root, pki);
  // as hosted-engine deployment writes it: the storage connection VDSM knows it by
  await appendFile(
    host.paths.hostConf,
    `vdsm_port=${vdsm.port}\nconnectionUUID=e29cf818-5ee5-46e1-85c1-8aeefa33e95d\n`,
  );
  await host.startBroker();
}, 120_000);

afterAll(async () => {
  await host?.destroy();
  await vdsm?.stop();
  await hv?.close();
  await health?.close();
  await removeDir(dir);
});

describe("ovirt-ha-agent on a VDSM host (VDSM protocol test server)", () => {
  it("chooses VDSM by itself, clears VDSM's state and creates the VM through VM.create; EngineUp", async () => {
    await host.startAgent();
    const block = await host.waitState("EngineUp", 120_000);
    expect(block.engineStatus).toMatchObject({ vm: "up", health: "good" });
    const log = await host.agentLog();
    expect(log).toContain('"vm_backend":"vdsm"');
    expect(log).toContain("engine VM backend: VDSM (JSON-RPC on localhost)");
    // the storage domain brought up through VDSM first, as the original does (its own
    // connection), then the VM
    // each client on its own connection: the storage connector's, the VM port's, the broker's
    const all = vdsm.methods();
    const storageConn = vdsm.connOf("StoragePool.connectStorageServer");
    const vmConn = vdsm.connOf("VM.create");
    expect(storageConn).toBeDefined();
    expect(vmConn).toBeDefined();
    expect(
      vdsm
        .callsOn(storageConn ?? 0)
        .slice(0, 5)
        .map((c) => c.method),
    ).toEqual([
      "Host.ping2",
      "StorageDomain.getInfo",
      "StoragePool.connectStorageServer",
      "StorageDomain.getStats",
      "Image.prepare",
    ]);
    expect(all.indexOf("Host.startMonitoringDomain")).toBeGreaterThan(0);
    expect(all.indexOf("Host.startMonitoringDomain")).toBeLessThan(all.indexOf("VM.create"));
    const vmCalls = vdsm.callsOn(vmConn ?? 0);
    const m = vmCalls.map((c) => c.method);
    const create = m.indexOf("VM.create");
    expect(create).toBeGreaterThan(2);
    expect(m.slice(0, create + 1)).toEqual([
      "Host.ping2",
      ...m.slice(1, create - 2).map(() => "VM.getStats"), // isActive while EngineDown
      "VM.getStats", // _clean_vdsm_state
      "VM.getStats", // --vm-start's checkVmStatus
      "VM.create",
    ]);
    // the broker: its own connection, Host.ping2 first, then only its monitors' reads:
    // VM.getStats of the engine VM, Host.getStats, Host.getStorageRepoStats of our domain,
    // the domain's sector size (StorageDomain.getInfo, as the original's broker asks) and
    // the doctor's Host.ping2
    const brokerConns = new Set(
      vdsm.calls.filter((c) => c.method === "Host.getStats").map((c) => c.conn),
    );
    expect(brokerConns.size).toBe(1);
    const b = vdsm.callsOn([...brokerConns][0] ?? 0);
    expect(b[0]?.method).toBe("Host.ping2");
    expect(b.some((c) => c.method === "VM.getStats")).toBe(true);
    for (const c of b.slice(1)) {
      if (c.method === "VM.getStats") expect(c.params).toEqual({ vmID: storage.vmId });
      else if (c.method === "Host.getStorageRepoStats")
        expect(c.params).toEqual({ domains: [storage.sdUUID] });
      else if (c.method === "StorageDomain.getInfo")
        expect(c.params).toEqual({ storagedomainID: storage.sdUUID });
      // the doctor's VDSM check (the agent asks the broker for its findings at start)
      else if (c.method === "Host.ping2") expect(c.params).toEqual({});
      else expect(c.method).toBe("Host.getStats");
    }
    expect(vmCalls[create]?.params.vmID).toBe(storage.vmId);
    // OVF_STORE found through VDSM (ovf_store.py's calls), the engine disk's lease asked of
    // VDSM (Volume.getInfo), both on the storage connector's connection
    const storageCalls = vdsm.callsOn(storageConn ?? 0).map((c) => c.method);
    expect(storageCalls).toContain("StorageDomain.getImages");
    const leaseAsked = vdsm
      .callsOn(storageConn ?? 0)
      .filter(
        (c) => c.method === "Volume.getInfo" && c.params.volumeID === storage.engineDisk.volumeUUID,
      );
    expect(leaseAsked.length).toBeGreaterThan(0);
    expect(await host.agentLog()).toContain("Found OVF_STORE");
    expect(vdsm.violations).toEqual([]);
    expect(await host.vmState()).toBe("running");
  }, 180_000);

  it("the VM dies under VDSM: EngineUnexpectedlyDown at once; the next start destroys VDSM's Down entry first", async () => {
    const before = vdsm.calls.length;
    await hv.destroyDomain(storage.vmId); // qemu died
    const block = await host.waitState("EngineUnexpectedlyDown", 60_000);
    expect(block.engineStatus?.vm).toBe("down_unexpected");
    expect(await host.agentLog()).not.toMatch(/"state":"EngineMaybeAway"/);
    // vm_unexpected_shutdown_expiration (30 s here) later the host starts it again
    await host.waitState("EngineUp", 150_000);
    const vmConn = vdsm.connOf("VM.create");
    const m = vdsm.calls
      .slice(before)
      .filter((c) => c.conn === vmConn)
      .map((c) => c.method);
    const create = m.indexOf("VM.create");
    expect(m.slice(create - 4, create + 1)).toEqual([
      "VM.getStats", // _clean_vdsm_state: Down
      "VM.destroy",
      "VM.getStats", // gone
      "VM.getStats", // checkVmStatus
      "VM.create",
    ]);
    expect(vdsm.violations).toEqual([]);
  }, 240_000);
  it("VDSM restarts: the agent brings the storage up through it again (connectStorageServer, Image.prepare, the domain monitor VDSM forgot); the engine VM runs on", async () => {
    const before = vdsm.calls.length;
    await vdsm.restart();
    // vdsmd restarted: no domain monitor until a client starts it again
    expect(vdsm.monitored.size).toBe(0);
    await pollUntil(
      "the domain monitor started again",
      async () => vdsm.monitored.has(storage.sdUUID),
      60_000,
      100,
    );
    const after = vdsm.calls.slice(before);
    const m = after.map((c) => c.method);
    const connect = m.indexOf("StoragePool.connectStorageServer");
    expect(connect).toBeGreaterThanOrEqual(0);
    // on one (new) connection, in the original's order: connect, prepare, monitor
    const conn = after[connect]!.conn;
    const seq = after.filter((c) => c.conn === conn).map((c) => c.method);
    const from = seq.indexOf("StoragePool.connectStorageServer");
    expect(seq.slice(from, from + 2)).toEqual([
      "StoragePool.connectStorageServer",
      "StorageDomain.getStats",
    ]);
    // every HA volume prepared again before the domain monitor is started again
    const monitor = seq.indexOf("Host.startMonitoringDomain", from);
    expect(monitor).toBeGreaterThan(from);
    expect(seq.slice(from, monitor).filter((x) => x === "Image.prepare").length).toBe(3);
    expect(await host.agentLog()).toContain("VDSM restarted");
    // nothing else moved: the engine VM ran on and the host publishes EngineUp again
    await host.waitState("EngineUp", 60_000);
    expect(await host.vmState()).toBe("running");
    expect(m).not.toContain("VM.create");
    expect(m).not.toContain("VM.destroy");
    expect(vdsm.violations).toEqual([]);
  }, 120_000);
});
