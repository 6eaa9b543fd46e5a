import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { pollUntil } from "../../lab/standins/processes.js";
import { checkRequest } from "../../lab/standins/vdsm/api-schema.js";
import { makeTestPki, type TestPki } from "../../lab/standins/vdsm/certs.js";
import { FakeVdsm } from "../../lab/standins/vdsm/fake-vdsm.js";
import { chooseVmBackend, vdsmPkiPaths, vmBackendFor } from "../../src/agent/backend.js";
import { engineVmFor } from "../../src/agent/engine-vm-factory.js";
import { LibvirtVm } from "../../src/agent/libvirt-vm.js";
import { isLeaseRefusedByLibvirt } from "../../src/agent/start-failure-record.js";
import { hostConfigFrom } from "../../src/common/host-config.js";
import { createLogger, silentLogger } from "../../src/common/log.js";
import { haPaths } from "../../src/common/paths.js";
import { startedHere } from "../../src/common/started-here.js";
import { haVolumes } from "../../src/storage/domain.js";
import { fileDomainMetadata, formatDomainMetadata } from "../../src/storage/domain-metadata.js";
import type { VmConf } from "../../src/storage/ovf/vmconf-types.js";
import { VdsmApi } from "../../src/vdsm/api.js";
import {
  connectHaStorage,
  connectStorageServer,
  disconnectStorageServer,
  startDomainMonitor,
  stopDomainMonitor,
} from "../../src/vdsm/host-storage.js";
import { VdsmClient, VdsmError, VdsmUnavailableError } from "../../src/vdsm/json-rpc-client.js";
import { VdsmStorageConnector } from "../../src/vdsm/storage-connector.js";
import { VdsmVm } from "../../src/vdsm/vdsm-vm.js";
import { vmCreateParams } from "../../src/vdsm/vm-params.js";
import { removeDir, tempDir } from "../support/temp.js";

/**
 * The VDSM backend against a test server speaking VDSM's wire protocol (TLS with client
 * certificates, STOMP 1.2, JSON-RPC 2.0, requests checked against VDSM's API schema).
 * Real VDSM cannot run on these machines.
 */
const VM = "6f0c3b3e-8a5d-4c1e-9b7a-2d4e6f8a0b1c";
const SD = "5f2b9c1e-3a4d-4e6f-8a9b-0c1d2e3f4a5b";
const SP = "00000000-0000-0000-0000-000000000000";
const XML = `<domain type='kvm'><name>HostedEngine</name><uuid>${VM}</uuid></domain>`;

/**
 * A start over a stale Down entry: _clean_vdsm_state (getStats: Down → destroy → getStats:
 * gone), --vm-start's checkVmStatus, VM.create, then the launch (WaitForLaunch, Powering up)
 */
const CLEAN_THEN_CREATE = [
  "VM.getStats",
  "VM.destroy",
  "VM.getStats",
  "VM.getStats",
  "VM.create",
  "VM.getStats",
  "VM.getStats",
];

let dir: string;
let pki: TestPki;
let vdsm: FakeVdsm;
const closers: (() => void | Promise<void>)[] = [];

const vmConf = (extra: Partial<VmConf> = {}): VmConf => ({
  vmId: VM,
  vmName: "HostedEngine",
  memSize: 4096,
  smp: 2,
  devices: [],
  raw: new Map([
    ["vmId", VM],
    ["memSize", "4096"],
  ]),
  ...extra,
});

function client(over: Partial<{ key: string; cert: string; ca: string }> = {}) {
  const c = new VdsmClient({
    port: vdsm.port,
    tls: { key: pki.client.key, cert: pki.client.cert, ca: pki.ca, ...over },
    log: silentLogger,
    minBackoffMs: 20,
    maxBackoffMs: 50,
    timeoutMs: 5000,
  });
  closers.push(() => c.close());
  return c;
}

function engineVm(): VdsmVm {
  const vm = new VdsmVm({
    vmId: VM,
    log: silentLogger,
    cleanupDelayMs: 10,
    launchPollMs: 10,
    runDir: path.join(dir, "run"),
    client: {
      port: vdsm.port,
      tls: { key: pki.client.key, cert: pki.client.cert, ca: pki.ca },
      minBackoffMs: 20,
      maxBackoffMs: 50,
      timeoutMs: 5000,
    },
  });
  closers.push(() => vm.close());
  return vm;
}

beforeAll(async () => {
  dir = await tempDir("vdsm");
  pki = await makeTestPki(path.join(dir, "pki"));
}, 60_000);

afterAll(async () => {
  await removeDir(dir);
});

afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  await vdsm?.stop();
  expect(vdsm.violations).toEqual([]);
});

async function startVdsm(): Promise<void> {
  vdsm = new FakeVdsm({ ca: pki.ca, key: pki.server.key, cert: pki.server.cert });
  await vdsm.start();
}

describe("VDSM backend (VmPort) against the VDSM protocol test server", () => {
  it("start → up → shutdown: the original's calls in its order, with its arguments", async () => {
    await startVdsm();
    const vm = engineVm();
    expect(await vm.isActive()).toBe(false);
    await vm.start(vmConf({ xmlBase64: Buffer.from(XML).toString("base64") }));
    // recorded as started here (the broker reads a VM that vanishes as down_unexpected)
    expect(await startedHere(path.join(dir, "run"), VM)).toBe(true);
    expect(await vm.isActive()).toBe(true);
    expect(vdsm.vms.get(VM)?.status).toBe("Up");
    await vm.shutdown();
    expect(await startedHere(path.join(dir, "run"), VM)).toBe(false);
    expect(await vm.isActive()).toBe(false); // Down: VDSM keeps the entry
    expect(vdsm.methods()).toEqual([
      "Host.ping2", // connect_vdsm_json_rpc's check
      "VM.getStats", // isActive: no such VM
      "VM.getStats", // _clean_vdsm_state: no such VM, clean
      "VM.getStats", // hosted-engine --vm-start: checkVmStatus
      "VM.create",
      "VM.getStats", // launch: WaitForLaunch
      "VM.getStats", // launch: Powering up
      "VM.getStats", // isActive: Up
      "VM.shutdown",
      "VM.getStats",
    ]);
    expect(vdsm.calls.find((c) => c.method === "VM.create")?.params).toEqual({
      vmID: VM,
      vmParams: { xml: XML },
    });
    expect(vdsm.calls.find((c) => c.method === "VM.shutdown")?.params).toEqual({
      vmID: VM,
      delay: 120,
      message: "VM is shutting down!",
    });
  });

  it("clears a stale Down entry before a start (VM.destroy), then creates the VM", async () => {
    await startVdsm();
    vdsm.vms.set(VM, { status: "Down", exitMessage: "User shut down from within the guest" });
    const vm = engineVm();
    expect(await vm.isActive()).toBe(false);
    vdsm.calls.length = 0;
    await vm.start(vmConf({ xmlBase64: Buffer.from(XML).toString("base64") }));
    expect(vdsm.methods()).toEqual(CLEAN_THEN_CREATE);
    expect(vdsm.vms.get(VM)?.status).toBe("Up");
  });

  it("leaves a VM that is Up alone: no destroy, no create", async () => {
    await startVdsm();
    vdsm.vms.set(VM, { status: "Up" });
    const vm = engineVm();
    await vm.start(vmConf());
    expect(vdsm.methods()).toEqual(["Host.ping2", "VM.getStats"]);
  });

  it("a failed start: VDSM refuses VM.create; the error names the verb and VDSM's message", async () => {
    await startVdsm();
    vdsm.failCreate = { code: 100, message: "General Exception: ('image not prepared',)" };
    const vm = engineVm();
    const err = await vm.start(vmConf()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VdsmError);
    expect((err as Error).message).toMatch(
      /VM\.create failed \(code=100, message=General Exception/,
    );
    expect(await vm.isActive()).toBe(false);
  });

  it("a start refused by the VM lease: the VM goes Down at launch with libvirt's lock message; start fails with it, which the agent reports as storage locked", async () => {
    await startVdsm();
    vdsm.createGoesDown = "resource busy: Failed to acquire lock: Lease is held by another host";
    const vm = engineVm();
    const err = await vm
      .start(vmConf({ xmlBase64: Buffer.from(XML).toString("base64") }))
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(
      /went down at launch through VDSM: .*Failed to acquire lock/,
    );
    expect(isLeaseRefusedByLibvirt((err as Error).message)).toBe(true);
    expect(await startedHere(path.join(dir, "run"), VM)).toBe(false);
    expect(await vm.isActive()).toBe(false);
    // the Down entry stays until the next start clears it
    vdsm.createGoesDown = null;
    await vm.start(vmConf({ xmlBase64: Buffer.from(XML).toString("base64") }));
    expect(vdsm.methods().slice(-7)).toEqual(CLEAN_THEN_CREATE);
  });

  it("sends vm.conf keys, devices and custom properties when vm.conf has no XML (legacy)", () => {
    const p = vmCreateParams(
      vmConf({
        devices: [{ device: "vnc", type: "graphics" }],
        raw: new Map([
          ["vmId", VM],
          ["memSize", "4096"],
          ["vt", "true"],
          ["custom_sap", "x"],
          ["devices", "{device:vnc,type:graphics}"],
        ]),
      }),
    );
    expect(p).toEqual({
      vmId: VM,
      memSize: "4096",
      vt: "true",
      kvmEnable: "true",
      custom: { sap: "x" },
      devices: [{ device: "vnc", type: "graphics" }],
    });
    expect(checkRequest("VM.create", { vmID: VM, vmParams: p })).toEqual([]);
  });

  it("VDSM restarting mid-run: the call in flight fails as unavailable, the next reconnects and finds the VM", async () => {
    await startVdsm();
    const vm = engineVm();
    await vm.start(vmConf({ xmlBase64: Buffer.from(XML).toString("base64") }));
    expect(await vm.isActive()).toBe(true);
    await vdsm.stop();
    await expect(vm.isActive()).rejects.toBeInstanceOf(VdsmUnavailableError);
    await vdsm.start(); // same port; VDSM recovers its VMs
    let active: boolean | undefined;
    for (let i = 0; i < 50 && active === undefined; i++) {
      active = await vm.isActive().catch(async () => {
        await new Promise((r) => setTimeout(r, 20));
        return undefined;
      });
    }
    expect(active).toBe(true);
    expect(vm.api.client.connects).toBe(2);
    expect(vdsm.methods().filter((m) => m === "Host.ping2")).toHaveLength(2);
  });

  it("STOMP heart-beats: VDSM's keep an idle connection; a VDSM that goes silent is dropped at the heart-beat timeout (the call in flight fails at once) and the next call reconnects", async () => {
    await startVdsm();
    const c = new VdsmClient({
      port: vdsm.port,
      tls: { key: pki.client.key, cert: pki.client.cert, ca: pki.ca },
      log: silentLogger,
      minBackoffMs: 0,
      timeoutMs: 60_000,
      incomingHeartBeatMs: 1500,
    });
    closers.push(() => c.close());
    await c.call("Host.ping2");
    expect(vdsm.connectHeartBeats).toEqual(["0,1200"]);
    // idle for longer than the timeout: VDSM's heart-beats keep the connection
    await pollUntil(
      "three heart-beats from VDSM",
      async () => vdsm.heartBeatsSent >= 3,
      30_000,
      50,
    );
    expect(c.connected).toBe(true);
    expect(c.connects).toBe(1);
    // VDSM hangs: no answer, no heart-beat; the call fails when the connection is dropped,
    // not after its own 60 s
    vdsm.frozen = true;
    await expect(c.call("Host.getStats")).rejects.toThrow(
      /no frame or heart-beat from VDSM within 1500 ms \(heart-beat 1200,0\)/,
    );
    vdsm.frozen = false;
    expect(await c.call("Host.ping2")).toBe(true);
    expect(c.connects).toBe(2);
  });

  it("TLS: refused with a client certificate from another CA, and when VDSM's certificate is not from the trusted CA", async () => {
    await startVdsm();
    const rogue = client({ key: pki.rogueClient.key, cert: pki.rogueClient.cert });
    await expect(rogue.call("Host.ping2")).rejects.toBeInstanceOf(VdsmUnavailableError);
    expect(vdsm.tlsRefusals).toBeGreaterThan(0);
    const distrusting = client({ ca: pki.rogueCa });
    await expect(distrusting.call("Host.ping2")).rejects.toThrow(/certificate/);
    expect(vdsm.calls).toEqual([]);
  });

  it("the schema check refuses what VDSM would refuse (so the other tests can fail)", async () => {
    await startVdsm();
    const c = client();
    const err = await c.call("VM.getStats", { vmID: "not-a-uuid" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VdsmError);
    expect((err as VdsmError).code).toBe(-32602);
    expect(vdsm.violations).toEqual(['VM.getStats: vmID="not-a-uuid" is not uuid']);
    vdsm.violations.length = 0;
  });
});

describe("VDSM storage calls of the original", () => {
  const conf = hostConfigFrom(
    new Map([
      ["host_id", "2"],
      ["sdUUID", SD],
      ["spUUID", SP],
      ["storage", "nfs.example.com:/he"],
      ["domainType", "nfs"],
      ["nfs_version", "v4_1"],
      ["connectionUUID", "e29cf818-5ee5-46e1-85c1-8aeefa33e95d"],
      ["metadata_image_UUID", "11111111-1111-4111-8111-111111111111"],
      ["metadata_volume_UUID", "22222222-2222-4222-8222-222222222222"],
      ["lockspace_image_UUID", "33333333-3333-4333-8333-333333333333"],
      ["lockspace_volume_UUID", "44444444-4444-4444-8444-444444444444"],
      ["conf_image_UUID", "55555555-5555-4555-8555-555555555555"],
      ["conf_volume_UUID", "66666666-6666-4666-8666-666666666666"],
    ]),
    "hosted-engine.conf",
  );

  it("connects the storage server, refreshes the domain, prepares the three HA images, then monitors the domain until acquired", async () => {
    await startVdsm();
    vdsm.acquireAfterPolls = 3;
    const api = new VdsmApi(client());
    const paths = await connectHaStorage(api, conf, silentLogger, path.join(dir, "mnt"));
    expect(paths.lockspace).toBe(
      `/rhev/data-center/mnt/server:_he/${SD}/images/33333333-3333-4333-8333-333333333333/44444444-4444-4444-8444-444444444444`,
    );
    await startDomainMonitor(api, SD, 2, silentLogger, 10, 5000);
    await stopDomainMonitor(api, SD);
    expect(vdsm.methods()).toEqual([
      "Host.ping2",
      "StorageDomain.getInfo", // _validate_pre_connected_path: not known yet
      "StoragePool.connectStorageServer",
      "StorageDomain.getStats",
      "Image.prepare",
      "Image.prepare",
      "Image.prepare",
      "Host.getStorageRepoStats",
      "Host.startMonitoringDomain",
      "Host.getStorageRepoStats",
      "Host.getStorageRepoStats",
      "Host.getStorageRepoStats",
      "Host.getStorageRepoStats",
      "Host.stopMonitoringDomain",
    ]);
    expect(vdsm.calls[2]?.params).toEqual({
      storagepoolID: SP,
      domainType: 1,
      connectionParams: [
        {
          connection: "nfs.example.com:/he",
          user: "kvm",
          id: "e29cf818-5ee5-46e1-85c1-8aeefa33e95d",
          protocol_version: "4.1",
        },
      ],
    });
    expect(vdsm.calls[8]?.params).toEqual({ sdUUID: SD, hostID: 2 });
  });

  it("the agent's storage connector on VDSM hosts: the same calls in the same order, the mount left to VDSM", async () => {
    await startVdsm();
    vdsm.acquireAfterPolls = 1;
    const domainDir = await tempDir("vdsm-sd");
    try {
      const connector = new VdsmStorageConnector({
        api: new VdsmApi(client()),
        conf,
        volumes: haVolumes(
          hostConfigFrom(new Map([...conf.raw, ["domain_path", domainDir]]), "hosted-engine.conf"),
          { root: dir, mountRoot: path.join(dir, "mnt") },
        ),
        mountRoot: path.join(dir, "mnt"),
        log: silentLogger,
        pollMs: 10,
        timeoutMs: 5000,
      });
      // VDSM has not mounted it yet: nothing there
      expect((await connector.check()).state).toBe("missing");
      await mkdir(path.join(domainDir, "dom_md"));
      await writeFile(
        path.join(domainDir, "dom_md", "metadata"),
        formatDomainMetadata(
          fileDomainMetadata({ sdUUID: SD, type: "NFS", remotePath: "x", description: "d" }),
        ),
      );
      // mounted already (by VDSM), but not yet brought up through VDSM by this agent
      expect(await connector.check()).toEqual({
        state: "missing",
        why: "not yet connected through VDSM",
      });
      expect(await connector.connect()).toBe("already-connected");
      expect(vdsm.methods()).toEqual([
        "Host.ping2",
        "StorageDomain.getInfo",
        "StoragePool.connectStorageServer",
        "StorageDomain.getStats",
        "Image.prepare",
        "Image.prepare",
        "Image.prepare",
        "Host.getStorageRepoStats",
        "Host.startMonitoringDomain",
        "Host.getStorageRepoStats",
      ]);
      expect(await connector.check()).toEqual({ state: "ok", domainDir });
      expect(await connector.disconnect()).toBe("not-ours");
      expect(vdsm.methods().slice(-2)).toEqual([
        "Host.getStorageRepoStats",
        "Host.stopMonitoringDomain",
      ]);
    } finally {
      await removeDir(domainDir);
    }
  });

  it("a domain VDSM already knows: its mount must be at the canonical path of the normalised connection, else nothing is connected", async () => {
    await startVdsm();
    const mnt = path.join(dir, "mnt-known");
    const canonical = path.join(mnt, "nfs.example.com:_he", SD);
    await mkdir(canonical, { recursive: true });
    vdsm.domains.set(SD, { remotePath: "nfs.example.com:/he" });
    // hosted-engine.conf written with a trailing slash: connected without it, as the original
    const slash = hostConfigFrom(
      new Map([...conf.raw, ["storage", "nfs.example.com:/he/"]]),
      "hosted-engine.conf",
    );
    const api = new VdsmApi(client());
    await connectStorageServer(api, slash, silentLogger, mnt);
    expect(vdsm.methods()).toEqual([
      "Host.ping2",
      "StorageDomain.getInfo", // known: check its mount
      "StorageDomain.getInfo", // get_domain_path
      "StoragePool.connectStorageServer",
      "StorageDomain.getStats",
    ]);
    expect(vdsm.calls[3]?.params.connectionParams).toMatchObject([
      { connection: "nfs.example.com:/he" },
    ]);
    // disconnect sends the connection as written (the original: normalize_path=False)
    await disconnectStorageServer(api, slash, silentLogger);
    expect(vdsm.calls.at(-1)?.params.connectionParams).toMatchObject([
      { connection: "nfs.example.com:/he/" },
    ]);
    // an old mount on the path with the trailing slash: refused before connecting
    const legacy = path.join(dir, "mnt-legacy");
    await mkdir(path.join(legacy, "nfs.example.com:_he_", SD), { recursive: true });
    vdsm.domains.set(SD, { remotePath: "nfs.example.com:/he/" });
    const before = vdsm.calls.length;
    await expect(connectStorageServer(api, slash, silentLogger, legacy)).rejects.toThrow(
      `The hosted-engine storage domain is already mounted on '${path.join(legacy, "nfs.example.com:_he_", SD)}' with a path that is not supported anymore: the right path should be '${path.join(legacy, "nfs.example.com:_he", SD)}'.`,
    );
    expect(vdsm.methods().slice(before)).toEqual([
      "StorageDomain.getInfo",
      "StorageDomain.getInfo",
    ]);
  });

  it("host and VM listings the original reads (Host.getStats, getVMList, getAllVmStats) fit the schema", async () => {
    await startVdsm();
    vdsm.vms.set(VM, { status: "Up" });
    const api = new VdsmApi(client());
    expect((await api.hostStats()).memFree).toBe(12_000);
    expect(await api.vmList()).toEqual([{ vmId: VM, status: "Up" }]);
    expect((await api.allVmStats()).map((s) => s.status)).toEqual(["Up"]);
  });
});

describe("backend choice", () => {
  const conf = (backend?: string) =>
    hostConfigFrom(
      new Map([
        ["host_id", "1"],
        ...(backend ? [["vm_backend", backend] as [string, string]] : []),
      ]),
      "hosted-engine.conf",
    );

  it("auto picks VDSM where its key and certificate exist; the setting forces either; a bad value is named", async () => {
    expect(chooseVmBackend(conf(), { present: true, where: "/etc/pki/vdsm" }).backend).toBe("vdsm");
    expect(chooseVmBackend(conf(), { present: false, where: "/etc/pki/vdsm" }).backend).toBe(
      "libvirt",
    );
    expect(chooseVmBackend(conf("libvirt"), { present: true, where: "x" })).toEqual({
      backend: "libvirt",
      why: "vm_backend=libvirt",
    });
    expect(chooseVmBackend(conf("vdsm"), { present: false, where: "x" }).backend).toBe("vdsm");
    expect(() => chooseVmBackend(conf("xen"), { present: false, where: "x" })).toThrow(
      /vm_backend="xen" in hosted-engine.conf is not one of auto, vdsm, libvirt/,
    );
    const root = path.join(dir, "root");
    expect((await vmBackendFor(conf(), root)).backend).toBe("libvirt");
    const p = vdsmPkiPaths(root);
    for (const f of [p.key, p.cert, p.ca]) {
      await mkdir(path.dirname(f), { recursive: true });
      await writeFile(f, "pem");
    }
    expect(await vmBackendFor(conf(), root)).toEqual({
      backend: "vdsm",
      why: `VDSM's key and certificate found under ${path.join(root, "etc/pki/vdsm")}`,
    });
  });

  it("the engine VM factory (agent and he-ha vm): VDSM chosen → a VdsmVm behind libvirt's lock manager, libvirt → a LibvirtVm; the choice is logged", () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({
      name: "t",
      level: "info",
      pretty: false,
      destination: { write: (l: string) => lines.push(JSON.parse(l)) },
    });
    const c = conf();
    const setup = {
      paths: haPaths(dir),
      hostConf: c,
      volumes: { domain: dir, metadata: "", lockspace: "", conf: "", ids: "", xleases: "" },
    };
    const opts = { vmConfSource: "vm.conf", caller: "agent" } as const;
    const viaVdsm = engineVmFor(
      { ...setup, vmBackend: { backend: "vdsm", why: "test" } },
      log,
      opts,
    );
    expect(viaVdsm.vm).toBeInstanceOf(VdsmVm);
    expect(viaVdsm.holder.holder).toBe("libvirt");
    const viaLibvirt = engineVmFor(
      { ...setup, vmBackend: { backend: "libvirt", why: "test" } },
      log,
      opts,
    );
    expect(viaLibvirt.vm).toBeInstanceOf(LibvirtVm);
    expect(viaLibvirt.holder.holder).toBe("agent");
    expect(lines.map((l) => [l.msg, l.vm_backend, l.reason])).toEqual([
      ["engine VM backend: VDSM (JSON-RPC on localhost)", "vdsm", "test"],
      ["engine VM backend: libvirt", "libvirt", "test"],
    ]);
  });
});
