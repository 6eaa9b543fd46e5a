import { isBlockDomain } from "../common/domain-types.js";
import type { HostConfig } from "../common/host-config.js";
import type { Logger } from "../common/log.js";
import type {
  ConnectOutcome,
  DisconnectOutcome,
  StorageCheck,
  StorageConnector,
} from "../storage/connect/connector.js";
import { verifyBlockVolumes, verifyDomain } from "../storage/connect/verify.js";
import type { HaVolumes } from "../storage/domain.js";
import type { VdsmApi } from "./api.js";
import {
  connectHaStorage,
  describeConnection,
  startDomainMonitor,
  stopDomainMonitor,
  VdsmStorageError,
} from "./host-storage.js";

export interface VdsmStorageConnectorOptions {
  api: VdsmApi;
  conf: HostConfig;
  /**
   * where the services read the domain (src/storage/domain.ts haVolumes): a file domain
   * where VDSM mounts it (`<mnt>/<server:_path>/<sdUUID>`), a block domain's prepared
   * volumes (`/run/vdsm/storage/<sd>/<img>/<vol>`) and LVs (`/dev/<sd>/ids`)
   */
  volumes: HaVolumes;
  /** VDSM's mount parent (`/rhev/data-center/mnt` under the host root) */
  mountRoot: string;
  log: Logger;
  /** domain monitor polls (the original: every 5 s, up to 5 min) */
  pollMs?: number;
  timeoutMs?: number;
}

/**
 * The storage domain on a VDSM host, connected as the original connects it: through
 * VDSM (StoragePool.connectStorageServer, StorageDomain.getStats, Image.prepare of the
 * HA volumes, then Host.startMonitoringDomain until VDSM holds our host id in the
 * domain's lockspace). VDSM owns the mount and the LVs: `disconnect` only stops the
 * domain monitor and never unmounts. `check` reads `dom_md/metadata` as the mount
 * connector does (file domains), or one byte of each prepared HA volume and of the `ids`
 * LV (block domains), and says "missing" until this connector went through VDSM once,
 * so that an agent always brings the domain up through VDSM at start, as the original
 * does, even when VDSM already mounted it.
 */
export class VdsmStorageConnector implements StorageConnector {
  readonly description: string;
  readonly domainDir: string;
  private readonly block: boolean;
  private connected = false;
  /** the VDSM connection (client.connects) the storage was last brought up through */
  private connectedOn = 0;
  private restartSaidOn = 0;

  constructor(private readonly o: VdsmStorageConnectorOptions) {
    this.description = `${o.conf.domainType} ${describeConnection(o.conf)} through VDSM`;
    this.domainDir = o.volumes.domain;
    this.block = isBlockDomain(o.conf.domainType) && !o.conf.domainPath;
  }

  async connect(): Promise<ConnectOutcome> {
    const before = await this.look();
    const { api, conf, log } = this.o;
    const prepared = await connectHaStorage(api, conf, log, this.o.mountRoot);
    if (this.block) this.checkPrepared(prepared);
    await startDomainMonitor(api, conf.sdUUID, conf.hostId, log, this.o.pollMs, this.o.timeoutMs);
    this.connected = true;
    this.connectedOn = api.client.connects;
    return before.state === "ok" ? "already-connected" : "mounted";
  }

  /**
   * A block domain's volumes are read where Image.prepare puts them; VDSM answering
   * another path means the services would read something else: refused, naming both.
   */
  private checkPrepared(prepared: Record<string, string>): void {
    const v = this.o.volumes;
    const expected: Record<string, string> = {
      metadata: v.metadata,
      lockspace: v.lockspace,
      conf: v.conf,
    };
    for (const [name, at] of Object.entries(prepared)) {
      if (expected[name] !== undefined && expected[name] !== at)
        throw new VdsmStorageError(
          `VDSM prepared the ${name} volume at ${at}, but the HA services read it at ${expected[name]} (Image.prepare's run directory, /run/vdsm/storage under the host root)`,
        );
    }
  }

  async disconnect(): Promise<DisconnectOutcome> {
    await stopDomainMonitor(this.o.api, this.o.conf.sdUUID);
    return "not-ours";
  }

  /**
   * Once connected, every look first asks VDSM (Host.ping2, as the original's
   * connect_vdsm_json_rpc does each loop): VDSM unreachable, or reached on a new
   * connection (vdsmd restarted, or a hung VDSM was dropped), says "missing", so the
   * agent brings the domain up through VDSM again — connectStorageServer, Image.prepare
   * of every HA volume, the domain monitor VDSM forgot — as the original gets it at its
   * next start (the broker's connect, the agent's domain monitor).
   */
  async check(): Promise<StorageCheck> {
    if (this.connected) {
      const vdsm = await this.vdsmSince();
      if (vdsm) return vdsm;
    }
    const seen = await this.look();
    if (seen.state === "ok" && !this.connected)
      return { state: "missing", why: "not yet connected through VDSM" };
    return seen;
  }

  private async vdsmSince(): Promise<StorageCheck | null> {
    try {
      await this.o.api.ping2();
    } catch (e) {
      return { state: "missing", why: `VDSM not reachable: ${(e as Error).message}` };
    }
    const connects = this.o.api.client.connects;
    if (connects === this.connectedOn) return null;
    // said once per new connection, however many looks the connect takes
    if (this.restartSaidOn !== connects) {
      this.restartSaidOn = connects;
      this.o.log.warn(
        { sd_uuid: this.o.conf.sdUUID, storage: this.description },
        "VDSM restarted (reached on a new connection): connecting the storage domain through it again",
      );
    }
    return {
      state: "missing",
      why: "VDSM restarted (a new connection since the storage was connected): connecting it again",
    };
  }

  private look(): Promise<StorageCheck> {
    const v = this.o.volumes;
    return this.block
      ? verifyBlockVolumes(v.domain, [v.metadata, v.lockspace, v.ids])
      : verifyDomain(this.domainDir, this.o.conf.sdUUID);
  }
}
