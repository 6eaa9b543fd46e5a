import { mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { attachLoop, detachAll, type LoopDevice } from "../../lab/standins/loop-device.js";
import { pollUntil } from "../../lab/standins/processes.js";
import { SanlockDaemon } from "../../lab/standins/sanlock-daemon.js";
import { installVdsmPki, makeTestPki, type TestPki } from "../../lab/standins/vdsm/certs.js";
import { FakeVdsm, type FakeVolume } from "../../lab/standins/vdsm/fake-vdsm.js";
import { type HostConfig, hostConfigFrom } from "../../src/common/host-config.js";
import { createLogger, silentLogger } from "../../src/common/log.js";
import { haPaths } from "../../src/common/paths.js";
import { directInitLockspace } from "../../src/sanlock/direct-init.js";
import { HE_LOCKSPACE } from "../../src/sanlock/names.js";
import { buildTar } from "../../src/storage/archive/tar.js";
import { type HaVolumes, haVolumes } from "../../src/storage/domain.js";
import { resolveEngineLeases } from "../../src/storage/engine-lease.js";
import { readOvfFromStore } from "../../src/storage/ovf/store.js";
import { ovfStoreDescription } from "../../src/storage/volume-meta.js";
import { encodeHostBlock } from "../../src/storage/whiteboard/index.js";
import { VdsmApi } from "../../src/vdsm/api.js";
import { chooseVmBackend } from "../../src/vdsm/backend-choice.js";
import { findOvfStoresThroughVdsm, volumeLeaseThroughVdsm } from "../../src/vdsm/domain-content.js";
import { connectStorageServer, disconnectStorageServer } from "../../src/vdsm/host-storage.js";
import { VdsmClient } from "../../src/vdsm/json-rpc-client.js";
import { VdsmStorageConnector } from "../../src/vdsm/storage-connector.js";
import { runHeHa } from "../cli/harness.js";
import { startBrokerProcess } from "../support/broker-process.js";
import { removeDir, tempDir } from "../support/temp.js";
import { blockInput, segmentOnDisk, writeHostBlock, writeHostConf } from "../support/whiteboard.js";

/**
 * A block (iSCSI, FC) hosted-engine storage domain on a VDSM host. There is no
 * device-mapper on this machine (no LVM, no multipath, no iSCSI target): loop devices
 * stand in for the LVs, and the VDSM protocol test server answers Image.prepare with
 * links to them under the host root's `run/vdsm/storage`, as VDSM links
 * `/run/vdsm/storage/<sd>/<img>/<vol>` to `/dev/<sd>/<lv>`. Every request is checked
 * against the schema expectations of vdsm-api.yml (api-schema.ts).
 */
const SD = "9d1d8a5c-4b4f-4e8e-9a57-0c6f1b2d3e4f";
const SP = "00000000-0000-0000-0000-000000000000";
const VM = "7d3c1f00-0000-4000-8000-0000000000e1";
const IMG = {
  metadata: ["11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"],
  lockspace: ["33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444"],
  conf: ["55555555-5555-4555-8555-555555555555", "66666666-6666-4666-8666-666666666666"],
  ovf: ["77777777-7777-4777-8777-777777777777", "88888888-8888-4888-8888-888888888888"],
  disk: ["99999999-9999-4999-8999-999999999999", "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"],
} as const;
const MiB = 1024 * 1024;
/** the iSCSI target of the one-portal tests */
const TARGET = { connection: "192.0.2.10", port: "3260", iqn: "iqn.2026-12.example:he", tpgt: "1" };

let dir: string;
let root: string;
let pki: TestPki;
let vdsm: FakeVdsm;
const loops: LoopDevice[] = [];
const clients: VdsmClient[] = [];
/** the loop device standing in for each LV, by name */
const lv: Record<string, LoopDevice> = {};

function iscsiConf(over: Record<string, string> = {}): HostConfig {
  return hostConfigFrom(
    new Map(
      Object.entries({
        host_id: "1",
        sdUUID: SD,
        spUUID: SP,
        domainType: "iscsi",
        storage: "192.0.2.10,192.0.2.11",
        port: "3260,3260",
        iqn: "iqn.2026-12.example:he",
        portal: "1",
        user: "chap",
        password: "secret",
        vmid: VM,
        connectionUUID: "e29cf818-5ee5-46e1-85c1-8aeefa33e95d",
        metadata_image_UUID: IMG.metadata[0],
        metadata_volume_UUID: IMG.metadata[1],
        lockspace_image_UUID: IMG.lockspace[0],
        lockspace_volume_UUID: IMG.lockspace[1],
        conf_image_UUID: IMG.conf[0],
        conf_volume_UUID: IMG.conf[1],
        ...over,
      }),
    ),
    path.join(root, "etc/ovirt-hosted-engine/hosted-engine.conf"),
  );
}

function api(): VdsmApi {
  const c = new VdsmClient({
    port: vdsm.port,
    tls: async () => ({ key: pki.client.key, cert: pki.client.cert, ca: pki.ca }),
    log: silentLogger,
    minBackoffMs: 0,
    maxBackoffMs: 50,
    timeoutMs: 5000,
  });
  clients.push(c);
  return new VdsmApi(c);
}

/** `<root>/run/vdsm/storage/<sd>/<img>/<vol>` → the loop device, as Image.prepare links it */
async function preparedLink(name: keyof typeof IMG, device: string): Promise<string> {
  const [img, vol] = IMG[name];
  const link = path.join(root, "run/vdsm/storage", SD, img, vol);
  await mkdir(path.dirname(link), { recursive: true });
  await symlink(device, link);
  return link;
}

beforeAll(async () => {
  dir = await tempDir("block-domain");
  root = path.join(dir, "host1");
  pki = await makeTestPki(path.join(dir, "pki"));
  // the LVs of a block domain: the special ones and the HE volumes (sparse images)
  const sizes: Record<string, number> = {
    ids: MiB,
    leases: 110 * MiB,
    xleases: 2 * MiB,
    metadata: 9 * MiB,
    lockspace: MiB,
    conf: MiB,
    ovf: MiB,
  };
  for (const [name, bytes] of Object.entries(sizes)) {
    const loop = await attachLoop(path.join(dir, `block-${name}.img`), bytes, 512);
    loops.push(loop);
    lv[name] = loop;
  }
  // /dev/<sd>/<lv> for the special LVs, under the host root
  await mkdir(path.join(root, "dev", SD), { recursive: true });
  for (const name of ["ids", "leases", "xleases"])
    await symlink(lv[name]!.device, path.join(root, "dev", SD, name));
  // the OVF_STORE: a tar holding the engine VM's OVF, written on its "LV"
  const ovf = await readFile(path.join(import.meta.dirname, "../fixtures/ovf/ovf_test.xml"));
  await writeFile(lv.ovf!.device, buildTar([{ name: `${VM}.ovf`, data: ovf }]), { flag: "r+" });
}, 120_000);

afterAll(async () => {
  await detachAll(loops);
  if (dir) await removeDir(dir);
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await vdsm?.stop();
  expect(vdsm.violations).toEqual([]);
});

async function startVdsm(): Promise<void> {
  vdsm = new FakeVdsm({ ca: pki.ca, key: pki.server.key, cert: pki.server.cert });
  await vdsm.start();
}

/** the agent's storage connector on this host, VDSM's domain monitor polled quickly */
function connectorFor(conf: HostConfig, volumes: HaVolumes): VdsmStorageConnector {
  return new VdsmStorageConnector({
    api: api(),
    conf,
    volumes,
    mountRoot: path.join(root, "mnt"),
    log: silentLogger,
    pollMs: 10,
    timeoutMs: 5000,
  });
}

/** registers a volume of the domain with VDSM */
function addVolume(name: keyof typeof IMG, v: FakeVolume): void {
  const [img, vol] = IMG[name];
  vdsm.volumes.set(`${SD}/${img}/${vol}`, v);
}

describe("iSCSI and FC connections through VDSM, as the original's storage_server.py builds them", () => {
  it("iSCSI: one connection per bond interface and portal address, blacklisted paths left out, domainType 3; disconnect sends the same paths", async () => {
    await startVdsm();
    vdsm.iscsiTargets.push(
      { connection: "192.0.2.10", port: "3260", iqn: "iqn.2026-12.example:he", tpgt: "1" },
      { connection: "192.0.2.11", port: "3260", iqn: "iqn.2026-12.example:he", tpgt: "1" },
    );
    const conf = iscsiConf({ iscsi_paths_blacklist: "bond1<>192.0.2.11" });
    const ifaces = async () => [
      { ifaceName: "bond0", netIfaceName: "eth0" },
      { ifaceName: "bond1", netIfaceName: "eth1" },
    ];
    const a = api();
    await connectStorageServer(a, conf, silentLogger, path.join(root, "mnt"), ifaces);
    // no _validate_pre_connected_path for a block domain: it has no mount
    expect(vdsm.methods()).toEqual([
      "Host.ping2",
      "StoragePool.connectStorageServer",
      "StorageDomain.getStats",
    ]);
    const sent = vdsm.calls[1]!.params as {
      domainType: number;
      connectionParams: Array<Record<string, string>>;
    };
    expect(sent.domainType).toBe(3);
    expect(sent.connectionParams.map((c) => [c.ifaceName, c.connection])).toEqual([
      ["bond0", "192.0.2.10"],
      ["bond0", "192.0.2.11"],
      ["bond1", "192.0.2.10"],
    ]);
    expect(sent.connectionParams[0]).toMatchObject({
      iqn: "iqn.2026-12.example:he",
      tpgt: "1",
      port: "3260",
      user: "chap",
      password: "secret",
      netIfaceName: "eth0",
    });
    // a fresh connection id per path, as the original's uuid4()
    expect(new Set(sent.connectionParams.map((c) => c.id)).size).toBe(3);
    await disconnectStorageServer(a, conf, silentLogger, ifaces);
    const off = vdsm.calls.at(-1)!;
    expect(off.method).toBe("StoragePool.disconnectStorageServer");
    expect(
      (off.params.connectionParams as Array<Record<string, string>>).map((c) => c.connection),
    ).toEqual(["192.0.2.10", "192.0.2.11", "192.0.2.10"]);
  });

  it("a wrong portal: VDSM's login fails on every path; the error names the target and portal, and each failed path is logged", async () => {
    await startVdsm();
    vdsm.iscsiTargets.push(TARGET);
    const lines: string[] = [];
    const log = createLogger({
      name: "t",
      level: "info",
      pretty: false,
      destination: { write: (l: string) => lines.push(l) },
    });
    const conf = iscsiConf({ storage: "192.0.2.99,192.0.2.98" });
    await expect(
      connectStorageServer(api(), conf, log, path.join(root, "mnt"), async () => [
        { ifaceName: null, netIfaceName: null },
      ]),
    ).rejects.toThrow(
      /Connection to storage server failed: .*"status":464.* for iSCSI target iqn=iqn\.2026-12\.example:he at portal address storage=192\.0\.2\.99,192\.0\.2\.98 port=3260,3260/,
    );
    const text = lines.join("");
    expect(text.match(/A connection path to the storage server is not active/g)).toHaveLength(2);
    expect(text).not.toContain("secret"); // the CHAP password is not logged
    // a portal tag that is not a number is refused before anything is sent, naming the key
    await expect(
      connectStorageServer(api(), iscsiConf({ portal: "tpg-one" }), silentLogger, "/", async () => [
        { ifaceName: null, netIfaceName: null },
      ]),
    ).rejects.toThrow('portal="tpg-one" in hosted-engine.conf');
  });

  it("FC: no connection to make (the original's empty list), so no connectStorageServer; the domain is refreshed", async () => {
    await startVdsm();
    const conf = iscsiConf({ domainType: "fc", storage: "", iqn: "", port: "" });
    const a = api();
    await connectStorageServer(a, conf, silentLogger, path.join(root, "mnt"));
    await disconnectStorageServer(a, conf, silentLogger);
    expect(vdsm.methods()).toEqual(["Host.ping2", "StorageDomain.getStats"]);
  });

  it("a block domain on a host without VDSM is refused, naming why", () => {
    expect(() => chooseVmBackend(iscsiConf(), { present: false, where: "/etc/pki/vdsm" })).toThrow(
      "domainType=iscsi is a block storage domain: its volumes are LVs that only VDSM connects and prepares (iSCSI login, multipath, LVM, Image.prepare), and this host does not use VDSM (no VDSM key and certificate under /etc/pki/vdsm)",
    );
    expect(() =>
      chooseVmBackend(iscsiConf({ domainType: "fc", vm_backend: "libvirt" }), {
        present: true,
        where: "/etc/pki/vdsm",
      }),
    ).toThrow(/domainType=fc is a block storage domain: .* \(vm_backend=libvirt\)/);
  });
});

describe("the HE volumes of a block domain: Image.prepare's paths, never a directory", () => {
  it("the agent's connector prepares every HA volume; the services read them on the prepared block devices, and the ids LV", async () => {
    await startVdsm();
    vdsm.iscsiTargets.push(TARGET);
    const conf = iscsiConf({ storage: "192.0.2.10", port: "3260" });
    const volumes = haVolumes(conf, { root, mountRoot: path.join(root, "mnt") });
    expect(volumes).toEqual({
      domain: path.join(root, "dev", SD),
      metadata: path.join(root, "run/vdsm/storage", SD, ...IMG.metadata),
      lockspace: path.join(root, "run/vdsm/storage", SD, ...IMG.lockspace),
      conf: path.join(root, "run/vdsm/storage", SD, ...IMG.conf),
      ids: path.join(root, "dev", SD, "ids"),
      xleases: path.join(root, "dev", SD, "xleases"),
    });
    for (const name of ["metadata", "lockspace", "conf"] as const)
      addVolume(name, { path: await preparedLink(name, lv[name]!.device) });
    const connector = connectorFor(conf, volumes);
    expect(connector.domainDir).toBe(path.join(root, "dev", SD));
    expect(await connector.check()).toEqual({
      state: "missing",
      why: "not yet connected through VDSM",
    });
    expect(await connector.connect()).toBe("already-connected");
    expect(vdsm.methods()).toEqual([
      "Host.ping2",
      "StoragePool.connectStorageServer",
      "StorageDomain.getStats",
      "Image.prepare",
      "Image.prepare",
      "Image.prepare",
      "Host.getStorageRepoStats",
      "Host.startMonitoringDomain",
      "Host.getStorageRepoStats",
    ]);
    expect(await connector.check()).toEqual({ state: "ok", domainDir: path.join(root, "dev", SD) });
  });

  it("a LUN that is not there: the prepared link leads nowhere; the check names the device, nothing is written", async () => {
    await startVdsm();
    const conf = iscsiConf({ storage: "192.0.2.10", port: "3260" });
    const volumes = haVolumes(conf, { root, mountRoot: path.join(root, "mnt") });
    // the ids LV of another (absent) domain's device
    const gone = path.join(dir, "dev-gone");
    await mkdir(gone);
    const connector = connectorFor(conf, { ...volumes, ids: path.join(gone, "ids") });
    expect(await connector.check()).toEqual({
      state: "missing",
      why: `${path.join(gone, "ids")}: no such file or device`,
    });
  });

  it("VDSM preparing a volume elsewhere than the services read it is refused, naming both paths", async () => {
    await startVdsm();
    vdsm.iscsiTargets.push(TARGET);
    const conf = iscsiConf({ storage: "192.0.2.10", port: "3260" });
    const volumes = haVolumes(conf, { root, mountRoot: path.join(root, "mnt") });
    addVolume("metadata", { path: "/run/vdsm/storage/elsewhere" });
    const connector = connectorFor(conf, volumes);
    await expect(connector.connect()).rejects.toThrow(
      `VDSM prepared the metadata volume at /run/vdsm/storage/elsewhere, but the HA services read it at ${volumes.metadata}`,
    );
    expect(vdsm.methods()).not.toContain("Host.startMonitoringDomain");
  });
});

describe("OVF_STORE and the engine disk's lease through VDSM (block domain)", () => {
  it("OVF_STORE found as ovf_store.py finds it (getImages, getVolumes, Volume.getInfo description, Image.prepare) and read on the prepared device", async () => {
    await startVdsm();
    const conf = iscsiConf();
    addVolume("metadata", { path: "unused", description: "hosted-engine.metadata" });
    addVolume("ovf", {
      path: await preparedLink("ovf", lv.ovf!.device),
      description: ovfStoreDescription(SD, MiB),
    });
    const stores = await findOvfStoresThroughVdsm(api(), conf, silentLogger);
    expect(stores).toEqual([
      {
        imageUUID: IMG.ovf[0],
        volumeUUID: IMG.ovf[1],
        path: path.join(root, "run/vdsm/storage", SD, ...IMG.ovf),
      },
    ]);
    expect(vdsm.methods()).toEqual([
      "Host.ping2",
      "StorageDomain.getImages",
      "StorageDomain.getVolumes",
      "Volume.getInfo",
      "StorageDomain.getVolumes",
      "Volume.getInfo",
      "Image.prepare",
    ]);
    // the tar read on the block device (its size from sysfs: stat says 0)
    const ovf = await readOvfFromStore(stores[0]!.path, VM);
    expect(ovf).toContain("<ovf:Envelope");
  });

  it("the engine disk's volume lease is where Volume.getInfo says (the leases LV, VDSM's offset), never computed; none reported is an error naming the volume", async () => {
    await startVdsm();
    const conf = iscsiConf();
    const offset = 105 * MiB; // (RESERVED_LEASES 100 + metadata slot 5) × 1 MiB
    addVolume("disk", {
      path: "unused",
      lease: { path: `/dev/${SD}/leases`, offset, owners: [], version: null },
    });
    const vmConf = {
      devices: [
        {
          type: "disk",
          device: "disk",
          shared: "exclusive",
          domainID: SD,
          poolID: SP,
          imageID: IMG.disk[0],
          volumeID: IMG.disk[1],
        },
      ],
    } as unknown as Parameters<typeof resolveEngineLeases>[0];
    const volumes = haVolumes(conf, { root, mountRoot: path.join(root, "mnt") });
    const a = api();
    const ctx = {
      domainDir: volumes.domain,
      sdUUID: SD,
      vmConfSource: "vm.conf",
      xleases: volumes.xleases,
    };
    const noXleases = async () => {
      throw new Error("no VM lease expected");
    };
    const [lease] = await resolveEngineLeases(vmConf, ctx, noXleases, (img, vol) =>
      volumeLeaseThroughVdsm(a, conf, img, vol),
    );
    expect(lease).toMatchObject({
      lockspace: SD,
      resource: IMG.disk[1],
      path: `/dev/${SD}/leases`,
      offset,
      kind: "volume",
    });
    expect(vdsm.calls.at(-1)).toMatchObject({
      method: "Volume.getInfo",
      params: { storagedomainID: SD, imageID: IMG.disk[0], volumeID: IMG.disk[1] },
    });
    addVolume("disk", { path: "unused" }); // a VDSM that reports no lease
    await expect(
      resolveEngineLeases(vmConf, ctx, noXleases, (img, vol) =>
        volumeLeaseThroughVdsm(a, conf, img, vol),
      ),
    ).rejects.toThrow(
      `vm.conf: VDSM's Volume.getInfo reports no lease for volume ${IMG.disk[0]}/${IMG.disk[1]} of storage domain ${SD}: the engine VM's volume lease cannot be located`,
    );
  });
});

describe("he-ha storage connect on a block domain (the built CLI)", () => {
  /** hosted-engine.conf of the host root, as deployment writes it for iSCSI */
  async function writeConf(extra: Record<string, string>): Promise<void> {
    const c = iscsiConf({ storage: "192.0.2.10", port: "3260", ...extra });
    const file = haPaths(root).hostConf;
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, [...c.raw].map(([k, v]) => `${k}=${v}\n`).join(""));
  }

  it("through VDSM: iscsiadm's bond interfaces, the target from hosted-engine.conf; without VDSM: refused, naming why", async () => {
    await startVdsm();
    vdsm.iscsiTargets.push(TARGET);
    await writeConf({ vdsm_port: String(vdsm.port) });
    // iscsiadm -m iface as on a host with an iSCSI bond (the real one needs open-iscsi)
    const bin = path.join(dir, "bin");
    await mkdir(bin, { recursive: true });
    await writeFile(
      path.join(bin, "iscsiadm"),
      "#!/bin/sh\necho 'default tcp,<empty>,<empty>,<empty>,<empty>'\necho 'bond0 tcp,52:54:00:12:34:56,192.0.2.1,eth0,iqn.1994-05.com.redhat:host1'\n",
      { mode: 0o755 },
    );
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const pkiRoot = path.join(root, "etc/pki/vdsm");
    await installVdsmPki(root, pki);
    try {
      const r = await runHeHa(root, ["storage", "connect", "--json"], env);
      expect(r.stderr).toBe("");
      expect(JSON.parse(r.stdout)).toEqual({
        storage:
          "iscsi iSCSI target iqn=iqn.2026-12.example:he at portal address storage=192.0.2.10 port=3260 (tpgt portal=1) through VDSM",
        domain: path.join(root, "dev", SD),
        outcome: "vdsm-connected",
      });
      const con = vdsm.calls.find((c) => c.method === "StoragePool.connectStorageServer");
      expect(con?.params.domainType).toBe(3);
      expect(con?.params.connectionParams).toEqual([
        expect.objectContaining({
          connection: "192.0.2.10",
          ifaceName: "bond0",
          netIfaceName: "eth0",
        }),
      ]);
    } finally {
      await rm(pkiRoot, { recursive: true, force: true });
    }
    // the same host without VDSM
    const r = await runHeHa(root, ["storage", "connect"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "domainType=iscsi is a block storage domain: its volumes are LVs that only VDSM connects and prepares",
    );
  });
});

describe("ovirt-ha-broker on a block domain (the built broker, VDSM host)", () => {
  it("reads and writes the whiteboard on the prepared block device (its size from sysfs), never a directory", async () => {
    await startVdsm();
    const broot = path.join(dir, "broker-host");
    await mkdir(broot, { recursive: true });
    // this host's prepared links, as VDSM's Image.prepare left them
    for (const name of ["metadata", "lockspace", "conf"] as const) {
      const [img, vol] = IMG[name];
      const link = path.join(broot, "run/vdsm/storage", SD, img, vol);
      await mkdir(path.dirname(link), { recursive: true });
      await symlink(lv[name]!.device, link);
    }
    await mkdir(path.join(broot, "dev", SD), { recursive: true });
    await symlink(lv.ids!.device, path.join(broot, "dev", SD, "ids"));
    // another host's block, already on the shared LV
    await writeHostBlock(lv.metadata!.device, blockInput(2));
    const c = iscsiConf({ storage: "192.0.2.10", port: "3260", vdsm_port: String(vdsm.port) });
    await writeHostConf(broot, Object.fromEntries(c.raw));
    const p = haPaths(broot);
    await mkdir(path.dirname(p.agentConf), { recursive: true });
    await writeFile(p.agentConf, "[timing]\nbroker_storage_cycle=0.2\n");
    await installVdsmPki(broot, pki);
    // a real sanlock daemon; the `hosted-engine` lockspace on the lockspace LV
    const sanlock = await SanlockDaemon.start({
      runDir: path.join(dir, "sanlock-block"),
      hostName: "block-host1",
    });
    await directInitLockspace(HE_LOCKSPACE, lv.lockspace!.device, 0, 1);
    const broker = await startBrokerProcess(broot, { env: sanlock.env, ready: "stats" });
    try {
      // the first read follows VDSM's StorageDomain.getInfo (the domain's sector size)
      await pollUntil(
        "the broker's first read of the metadata LV",
        async () => (await broker.client.getStats()).has(2),
        30_000,
        100,
      );
      const stats = await broker.client.getStats();
      expect(stats.get(2)).toEqual(encodeHostBlock(blockInput(2)));
      // this host joins the lockspace on the prepared lockspace LV (as its agent does),
      // then the broker writes its block
      const joined = await sanlock.addLockspace(
        HE_LOCKSPACE,
        1,
        path.join(broot, "run/vdsm/storage", SD, ...IMG.lockspace),
      );
      expect(joined.output).toContain("done 0");
      const mine = encodeHostBlock(blockInput(1, { score: 2400 }));
      await broker.client.putStats(1, mine);
      await pollUntil(
        "host 1's block on the metadata LV",
        async () => (await segmentOnDisk(lv.metadata!.device, 1)).equals(mine),
        30_000,
        100,
      );
      const log = await broker.log();
      expect(log).toContain(path.join(broot, "run/vdsm/storage", SD, ...IMG.metadata));
      expect(log).not.toMatch(/ShortVolume|is 0 bytes/);
      const ls = await sanlock.client(["client", "status"]);
      expect(ls.output).toContain(
        `s ${HE_LOCKSPACE}:1:${path.join(broot, "run/vdsm/storage", SD, ...IMG.lockspace)}:0`,
      );
    } finally {
      await broker.stop();
      await sanlock.stop();
    }
  }, 120_000);
});
