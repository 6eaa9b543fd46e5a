/**
 * `--storage block`: the hosted-engine domain as an iSCSI (block) domain, reached on every
 * host through a VDSM protocol server, as the original reaches block domains. This
 * machine has no device-mapper (no LVM, no multipath, no iSCSI target), so loop devices
 * (512-byte or 4K sectors) stand in for the LVs, laid out by `storage init --device`;
 * each host's VDSM server answers Image.prepare with links under the host's root
 * (`run/vdsm/storage/<sd>/<img>/<vol>`, `dev/<sd>/{ids,leases,xleases}`), and runs the
 * engine VM in the host's libvirtd after taking its volume lease on the `leases` device
 * as libvirt's sanlock lock driver does (lab/standins/vdsm/lease-launcher.ts).
 */
import { randomUUID } from "node:crypto";
import { mkdir, symlink } from "node:fs/promises";
import path from "node:path";
import { blockSpecialVolumes, preparedVolumePath } from "../../src/common/domain-types.js";
import { silentLogger } from "../../src/common/log.js";
import { MiB, type SectorGeometry } from "../../src/common/sector-geometry.js";
import { HypervisorConnection } from "../../src/libvirt/hypervisor.js";
import type { InitDevices, InitVolume, StorageInitResult } from "../../src/storage/init.js";
import { ovfStoreDescription } from "../../src/storage/volume-meta.js";
import { attachLoop, detachAll, type LoopDevice } from "../standins/loop-device.js";
import type { SanlockDaemon } from "../standins/sanlock-daemon.js";
import { installVdsmPki, type TestPki } from "../standins/vdsm/certs.js";
import { FakeVdsm } from "../standins/vdsm/fake-vdsm.js";
import { LeaseLauncher } from "../standins/vdsm/lease-launcher.js";

/** The iSCSI target every demo host's VDSM "logs in" to (TEST-NET-1: no real portal). */
export const DEMO_ISCSI = {
  portal: "192.0.2.10",
  port: "3260",
  iqn: "iqn.2026-12.lab.demo:hosted-engine",
  tpgt: "1",
} as const;

/** hosted-engine.conf storage keys of the block domain, as deployment writes them for iSCSI. */
export function blockStorageConf(): Array<[string, string]> {
  return [
    ["domainType", "iscsi"],
    ["storage", DEMO_ISCSI.portal],
    ["port", DEMO_ISCSI.port],
    ["iqn", DEMO_ISCSI.iqn],
    ["portal", DEMO_ISCSI.tpgt],
  ];
}

/** The LVs `storage init --device` puts on block devices, and their sizes (1 MiB alignment). */
const LUN_SIZES: Record<keyof InitDevices, number> = {
  ids: 4 * MiB,
  // 100 reserved slots, then one volume lease slot per volume
  leases: 112 * MiB,
  xleases: 4 * MiB,
  heMetadata: 8 * MiB,
  heLockspace: 2 * MiB,
};

/** The loop devices standing in for the domain's LVs (one set, shared by every host). */
export class BlockLuns {
  private constructor(
    readonly devices: Required<InitDevices>,
    readonly geometry: SectorGeometry,
    private readonly loops: LoopDevice[],
  ) {}

  static async attach(dir: string, sectorSize: 512 | 4096): Promise<BlockLuns> {
    await mkdir(dir, { recursive: true });
    const loops: LoopDevice[] = [];
    const devices: Partial<Record<keyof InitDevices, string>> = {};
    try {
      for (const [area, bytes] of Object.entries(LUN_SIZES) as Array<[keyof InitDevices, number]>) {
        const loop = await attachLoop(path.join(dir, `blockdemo-${area}.img`), bytes, sectorSize);
        loops.push(loop);
        devices[area] = loop.device;
      }
    } catch (e) {
      await detachAll(loops);
      throw e;
    }
    return new BlockLuns(devices as Required<InitDevices>, { sectorSize, alignment: MiB }, loops);
  }

  get loopDevices(): string[] {
    return this.loops.map((l) => l.device);
  }

  async detach(): Promise<void> {
    await detachAll(this.loops);
  }
}

/** What HostVdsm needs of its host (lab/demo/host.ts DemoHost). */
export interface VdsmHostSide {
  readonly root: string;
  /** the management bridge VDSM reports in Host.getStats `network` */
  readonly bridge: string;
  readonly sanlock: SanlockDaemon | undefined;
  readonly libvirtUri: string;
}

/** A test-driver domain of the engine VM's uuid: what "qemu" runs on a demo host. */
function engineDomainXml(vmId: string): string {
  return `<domain type='test'><name>HostedEngine</name><uuid>${vmId}</uuid><memory unit='MiB'>512</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>`;
}

/**
 * One host's VDSM: the protocol server on a port of its own (kept across the host's
 * reboots), knowing the block domain's volumes at the host's prepared paths, running the
 * engine VM in the host's libvirtd under its volume lease.
 */
export class HostVdsm {
  server: FakeVdsm | undefined;
  private launcher: LeaseLauncher | undefined;
  private hypervisor: HypervisorConnection | undefined;
  private port = 0;
  readonly connectionUUID = randomUUID();

  constructor(
    private readonly storage: StorageInitResult,
    private readonly luns: BlockLuns,
    private readonly pki: TestPki,
  ) {}

  private prepared(root: string, v: InitVolume): string {
    return preparedVolumePath(
      path.join(root, "run"),
      this.storage.sdUUID,
      v.imageUUID,
      v.volumeUUID,
    );
  }

  /**
   * The host's links, as VDSM makes them: `dev/<sd>/{ids,leases,xleases}` (the LVs) and
   * `run/vdsm/storage/<sd>/<img>/<vol>` (Image.prepare), and VDSM's PKI for its clients.
   */
  async provision(host: VdsmHostSide): Promise<void> {
    const sd = this.storage.sdUUID;
    const special = blockSpecialVolumes(sd, path.join(host.root, "dev"));
    await mkdir(special.dir, { recursive: true });
    await symlink(this.luns.devices.ids, special.ids);
    await symlink(this.luns.devices.leases, path.join(special.dir, "leases"));
    await symlink(this.luns.devices.xleases, special.xleases);
    for (const v of this.volumes()) {
      const link = this.prepared(host.root, v);
      await mkdir(path.dirname(link), { recursive: true });
      await symlink(v.path, link);
    }
    await installVdsmPki(host.root, this.pki);
  }

  private volumes(): InitVolume[] {
    const v = this.storage.volumes;
    return [v.metadata, v.lockspace, v.conf, ...(v.ovfStore ? [v.ovfStore] : []), this.engineDisk];
  }

  private get engineDisk(): InitVolume {
    return this.storage.engineDisk;
  }

  /** hosted-engine.conf keys of this host's VDSM (its port; the connection's id) */
  confLines(): Array<[string, string]> {
    return [
      ["vdsm_port", String(this.port)],
      ["connectionUUID", this.connectionUUID],
    ];
  }

  /** VDSM starts (at the host's boot): same port as before, no VM, no domain monitor. */
  async start(host: VdsmHostSide): Promise<void> {
    const sd = this.storage.sdUUID;
    const leasesLv = path.join(blockSpecialVolumes(sd, path.join(host.root, "dev")).dir, "leases");
    this.hypervisor = new HypervisorConnection(host.libvirtUri, silentLogger, { minBackoffMs: 0 });
    this.launcher = new LeaseLauncher({
      sanlock: () => host.sanlock,
      hypervisor: this.hypervisor,
      lease: {
        lockspace: sd,
        resource: this.engineDisk.volumeUUID,
        path: leasesLv,
        offset: this.engineDisk.leaseOffset,
      },
      domainXml: engineDomainXml,
    });
    const server = new FakeVdsm({
      ca: this.pki.ca,
      key: this.pki.server.key,
      cert: this.pki.server.cert,
      ...(this.port ? { port: this.port } : {}),
      launcher: this.launcher,
    });
    server.domains.set(sd, {
      remotePath: DEMO_ISCSI.portal,
      type: "ISCSI",
      blockSize: this.luns.geometry.sectorSize,
      alignment: this.luns.geometry.alignment,
    });
    server.iscsiTargets.push({
      connection: DEMO_ISCSI.portal,
      port: DEMO_ISCSI.port,
      iqn: DEMO_ISCSI.iqn,
      tpgt: DEMO_ISCSI.tpgt,
    });
    // the host's management bridge as VDSM reports it (the broker's mgmt-bridge monitor)
    server.network = { [host.bridge]: { state: "up" } };
    const v = this.storage.volumes;
    const add = (vol: InitVolume, extra: { description?: string; lease?: boolean } = {}) =>
      server.volumes.set(`${sd}/${vol.imageUUID}/${vol.volumeUUID}`, {
        path: this.prepared(host.root, vol),
        ...(extra.description !== undefined ? { description: extra.description } : {}),
        ...(extra.lease
          ? { lease: { path: leasesLv, offset: vol.leaseOffset, owners: [], version: null } }
          : {}),
      });
    add(v.metadata, { description: "hosted-engine.metadata" });
    add(v.lockspace, { description: "hosted-engine.lockspace" });
    add(v.conf, { description: "HostedEngineConfigurationImage" });
    if (v.ovfStore) add(v.ovfStore, { description: ovfStoreDescription(sd, MiB) });
    add(this.engineDisk, { description: "hosted-engine disk", lease: true });
    await server.start();
    this.port = server.port;
    this.server = server;
  }

  /** The host lost its power: VDSM and every VM's "qemu" end at once. */
  async kill(): Promise<void> {
    this.launcher?.killAll();
    await this.server?.stop();
    await this.hypervisor?.close().catch(() => undefined);
    this.server = undefined;
  }

  /** vdsmd restarts (its VMs keep running; its domain monitors are gone). */
  async restart(): Promise<void> {
    await this.server?.restart();
  }

  async stop(): Promise<void> {
    await this.kill();
  }
}
