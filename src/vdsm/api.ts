/**
 * The VDSM verbs hosted-engine HA uses, with the arguments and names the Python original
 * sends (see the call table in docs/vdsm.md). Results are typed as far as we read them.
 */
import type { VdsmClient } from "./json-rpc-client.js";

export interface VmStats {
  vmId: string;
  status: string;
  exitMessage?: string;
  exitReason?: number;
  statusTime?: string | number;
  [k: string]: unknown;
}

/** An entry of Host.getVMList: a ShortStatus (the default), or a uuid with onlyUUID */
export type VmListEntry = { vmId: string; status?: string; [k: string]: unknown } | string;

export interface StorageDomainVitals {
  valid: boolean;
  delay: string | number;
  acquired: boolean;
  [k: string]: unknown;
}

/** VolumeLeaseStatus of vdsm-api.yml (Volume.getInfo `lease`) */
export interface VolumeLeaseStatus {
  path: string;
  offset: number;
  owners?: number[];
  version?: number | null;
}

/** The parts of Volume.getInfo (VolumeInfo) we read */
export interface VolumeInfo {
  description?: string;
  /** null or absent: the domain keeps no lease for the volume */
  lease?: VolumeLeaseStatus | null;
  [k: string]: unknown;
}

export interface ConnectionStatus {
  id: string;
  status: number;
}

export class VdsmApi {
  constructor(readonly client: VdsmClient) {}

  /** Host.ping2: connectivity check (util.py __vdsm_json_rpc_check) */
  ping2(): Promise<unknown> {
    return this.client.call("Host.ping2", {});
  }

  /** Host.getStats (mem_free, mgmt_bridge, heconflib) */
  hostStats(): Promise<Record<string, unknown>> {
    return this.client.call("Host.getStats", {});
  }

  /** Host.getStorageRepoStats(domains=[sdUUID]) (storage_domain, storage_broker, storage_server) */
  storageRepoStats(sdUUID: string): Promise<Record<string, StorageDomainVitals>> {
    return this.client.call("Host.getStorageRepoStats", { domains: [sdUUID] });
  }

  /** StoragePool.connectStorageServer (storage_server.connect_storage_server) */
  connectStorageServer(
    storagepoolID: string,
    domainType: number,
    connectionParams: object[],
  ): Promise<ConnectionStatus[]> {
    return this.client.call("StoragePool.connectStorageServer", {
      storagepoolID,
      domainType,
      connectionParams,
    });
  }

  /** StoragePool.disconnectStorageServer (storage_server.disconnect_storage_server, --disconnect-storage) */
  disconnectStorageServer(
    storagepoolID: string,
    domainType: number,
    connectionParams: object[],
  ): Promise<ConnectionStatus[]> {
    return this.client.call("StoragePool.disconnectStorageServer", {
      storagepoolID,
      domainType,
      connectionParams,
    });
  }

  /**
   * StorageDomain.getInfo (storage_server._validate_pre_connected_path, env/path.py
   * get_domain_path); `remotePath` names the file domain's connection
   */
  storageDomainInfo(
    storagedomainID: string,
  ): Promise<{ remotePath?: string; [k: string]: unknown }> {
    return this.client.call("StorageDomain.getInfo", { storagedomainID });
  }

  /** StorageDomain.getStats: refreshes the domain tree under /rhev/data-center (storage_server) */
  storageDomainStats(storagedomainID: string): Promise<Record<string, unknown>> {
    return this.client.call("StorageDomain.getStats", { storagedomainID });
  }

  /** Image.prepare (storage_backends.VdsmBackend._get_volume_path); answers the volume path */
  async prepareImage(
    storagepoolID: string,
    storagedomainID: string,
    imageID: string,
    volumeID: string,
  ): Promise<string> {
    const r = await this.client.call<{ path: string }>("Image.prepare", {
      storagepoolID,
      storagedomainID,
      imageID,
      volumeID,
    });
    return r.path;
  }

  /** StorageDomain.getImages (image.Image.get_images_list, ovf_store.OVFStore.scan) */
  storageDomainImages(storagedomainID: string): Promise<string[]> {
    return this.client.call("StorageDomain.getImages", { storagedomainID });
  }

  /** StorageDomain.getVolumes of one image (ovf_store.OVFStore.scan) */
  storageDomainVolumes(
    storagepoolID: string,
    storagedomainID: string,
    imageID: string,
  ): Promise<string[]> {
    return this.client.call("StorageDomain.getVolumes", {
      storagedomainID,
      storagepoolID,
      imageID,
    });
  }

  /** Volume.getInfo (ovf_store.OVFStore.scan: `description`; the volume's `lease`) */
  volumeInfo(
    storagepoolID: string,
    storagedomainID: string,
    imageID: string,
    volumeID: string,
  ): Promise<VolumeInfo> {
    return this.client.call("Volume.getInfo", {
      volumeID,
      imageID,
      storagepoolID,
      storagedomainID,
    });
  }

  /** Host.startMonitoringDomain (storage_broker.start_domain_monitor) */
  startMonitoringDomain(sdUUID: string, hostID: number): Promise<unknown> {
    return this.client.call("Host.startMonitoringDomain", { sdUUID, hostID });
  }

  /** Host.stopMonitoringDomain (storage_broker.stop_domain_monitor) */
  stopMonitoringDomain(sdUUID: string): Promise<unknown> {
    return this.client.call("Host.stopMonitoringDomain", { sdUUID });
  }

  /** VM.getStats(vmID)[0] (engine_health, cpu_load_no_engine, _clean_vdsm_state, checkVmStatus) */
  async vmStats(vmID: string): Promise<VmStats> {
    const r = await this.client.call<VmStats[]>("VM.getStats", { vmID });
    const first = r[0];
    if (!first) throw new Error(`VM.getStats ${vmID}: empty answer`);
    return first;
  }

  /** VM.create (vdsm_helper create); answers the VM's definition with its status */
  createVm(vmID: string, vmParams: Record<string, unknown>): Promise<{ status: string }> {
    return this.client.call("VM.create", { vmID, vmParams });
  }

  /** VM.shutdown (vdsm_helper shutdown: delay 120, message "VM is shutting down!") */
  shutdownVm(vmID: string, delay: number, message: string): Promise<unknown> {
    return this.client.call("VM.shutdown", { vmID, delay, message });
  }

  /** VM.destroy (vdsm_helper destroy, _clean_vdsm_state) */
  destroyVm(vmID: string): Promise<unknown> {
    return this.client.call("VM.destroy", { vmID });
  }

  /** Host.getVMList (set_maintenance: refuses local maintenance while it lists the engine VM) */
  vmList(): Promise<VmListEntry[]> {
    return this.client.call("Host.getVMList", {});
  }

  /** Host.getAllVmStats */
  allVmStats(): Promise<VmStats[]> {
    return this.client.call("Host.getAllVmStats", {});
  }
}
