import type { HostConfig } from "../common/host-config.js";
import type { Logger } from "../common/log.js";
import type {
  ConnectOutcome,
  DisconnectOutcome,
  StorageCheck,
  StorageConnector,
} from "../storage/connect/connector.js";
import { verifyDomain } from "../storage/connect/verify.js";
import type { VdsmApi } from "./api.js";
import { connectHaStorage, startDomainMonitor, stopDomainMonitor } from "./host-storage.js";

export interface VdsmStorageConnectorOptions {
  api: VdsmApi;
  conf: HostConfig;
  /** where VDSM mounts the domain (`<mnt>/<server:_path>/<sdUUID>`, src/storage/domain.ts) */
  domainDir: string;
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
 * domain's lockspace). VDSM owns the mount: `disconnect` only stops the domain monitor
 * and never unmounts. `check` reads `dom_md/metadata` as the mount connector does, and
 * says "missing" until this connector went through VDSM once, so that an agent always
 * brings the domain up through VDSM at start, as the original does, even when VDSM
 * already mounted it.
 */
export class VdsmStorageConnector implements StorageConnector {
  readonly description: string;
  readonly domainDir: string;
  private connected = false;

  constructor(private readonly o: VdsmStorageConnectorOptions) {
    this.description = `${o.conf.domainType} ${o.conf.storage} through VDSM`;
    this.domainDir = o.domainDir;
  }

  async connect(): Promise<ConnectOutcome> {
    const before = await verifyDomain(this.domainDir, this.o.conf.sdUUID);
    const { api, conf, log } = this.o;
    await connectHaStorage(api, conf, log, this.o.mountRoot);
    await startDomainMonitor(api, conf.sdUUID, conf.hostId, log, this.o.pollMs, this.o.timeoutMs);
    this.connected = true;
    return before.state === "ok" ? "already-connected" : "mounted";
  }

  async disconnect(): Promise<DisconnectOutcome> {
    await stopDomainMonitor(this.o.api, this.o.conf.sdUUID);
    return "not-ours";
  }

  async check(): Promise<StorageCheck> {
    const seen = await verifyDomain(this.domainDir, this.o.conf.sdUUID);
    if (seen.state === "ok" && !this.connected)
      return { state: "missing", why: "not yet connected through VDSM" };
    return seen;
  }
}
