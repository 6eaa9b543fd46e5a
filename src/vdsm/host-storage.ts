import type { HostConfig } from "../common/host-config.js";
import type { Logger } from "../common/log.js";
import type { VdsmApi } from "./api.js";
import { storageConnection } from "./storage-connection.js";

/** The HA volumes as hosted-engine.conf names them: [image uuid, volume uuid] */
export function haVolumeIds(conf: HostConfig): { name: string; image: string; volume: string }[] {
  return [
    { name: "metadata", image: conf.metadataImageUUID, volume: conf.metadataVolumeUUID },
    { name: "lockspace", image: conf.lockspaceImageUUID, volume: conf.lockspaceVolumeUUID },
    { name: "conf", image: conf.confImageUUID, volume: conf.confVolumeUUID },
  ];
}

export class VdsmStorageError extends Error {
  override name = "VdsmStorageError";
}

/**
 * The original's storage bring-up through VDSM, in its order:
 * 1. storage_server.connect_storage_server: StoragePool.connectStorageServer(spUUID,
 *    domainType, connectionParams) — at least one connection with status 0 — then
 *    StorageDomain.getStats(sdUUID) to refresh the domain tree (its failure only logged);
 * 2. storage_backends.VdsmBackend.connect: Image.prepare(spUUID, sdUUID, image, volume)
 *    for each HA volume (metadata, lockspace, configuration), giving their paths.
 * Answers the prepared paths by volume name.
 */
export async function connectHaStorage(
  api: VdsmApi,
  conf: HostConfig,
  log: Logger,
): Promise<Record<string, string>> {
  await connectStorageServer(api, conf, log);
  const paths: Record<string, string> = {};
  for (const v of haVolumeIds(conf)) {
    paths[v.name] = await api.prepareImage(conf.spUUID, conf.sdUUID, v.image, v.volume);
  }
  return paths;
}

/**
 * storage_server.connect_storage_server (the agent's first step, and all of
 * `hosted-engine --connect-storage`): StoragePool.connectStorageServer(spUUID, domainType,
 * connectionParams) — at least one connection with status 0 — then
 * StorageDomain.getStats(sdUUID) to refresh the domain tree (its failure only logged).
 */
export async function connectStorageServer(
  api: VdsmApi,
  conf: HostConfig,
  log: Logger,
): Promise<void> {
  const { domainType, connectionParams } = storageConnection(conf);
  const statuses = await api.connectStorageServer(conf.spUUID, domainType, connectionParams);
  if (!statuses.some((s) => s.status === 0))
    throw new VdsmStorageError(
      `Connection to storage server failed: ${JSON.stringify(statuses)} for ${conf.storage}`,
    );
  await api.storageDomainStats(conf.sdUUID).catch((err: Error) => {
    log.debug({ err, sd_uuid: conf.sdUUID }, "Error refreshing storage domain");
  });
}

/**
 * storage_server.disconnect_storage_server (`hosted-engine --disconnect-storage`):
 * StoragePool.disconnectStorageServer(spUUID, domainType, connectionParams) with the
 * connection as hosted-engine.conf names it. VDSM unmounts; nothing else is called.
 */
export async function disconnectStorageServer(api: VdsmApi, conf: HostConfig): Promise<void> {
  const { domainType, connectionParams } = storageConnection(conf);
  await api.disconnectStorageServer(conf.spUUID, domainType, connectionParams);
}

/**
 * storage_broker.start_domain_monitor: Host.getStorageRepoStats([sdUUID]); when VDSM does
 * not monitor the domain, Host.startMonitoringDomain(sdUUID, hostID); then
 * getStorageRepoStats until the domain reads `acquired` (VDSM joined the domain's
 * lockspace with our host id), every `pollMs` (the original: 5 s) up to `timeoutMs`.
 */
export async function startDomainMonitor(
  api: VdsmApi,
  sdUUID: string,
  hostId: number,
  log: Logger,
  pollMs = 5000,
  timeoutMs = 300_000,
): Promise<void> {
  let stats = await api.storageRepoStats(sdUUID);
  if (!(sdUUID in stats)) {
    await api.startMonitoringDomain(sdUUID, hostId);
    log.info({ sd_uuid: sdUUID }, "Started VDSM domain monitor");
    stats = await api.storageRepoStats(sdUUID);
  }
  const deadline = Date.now() + timeoutMs;
  while (!stats[sdUUID]?.acquired) {
    if (Date.now() > deadline)
      throw new VdsmStorageError(
        `Failed to start monitoring domain (sd_uuid=${sdUUID}, host_id=${hostId}): timeout during domain acquisition`,
      );
    await new Promise((r) => setTimeout(r, pollMs));
    stats = await api.storageRepoStats(sdUUID);
  }
}

/** storage_broker.stop_domain_monitor: Host.stopMonitoringDomain(sdUUID) when monitored. */
export async function stopDomainMonitor(api: VdsmApi, sdUUID: string): Promise<void> {
  const stats = await api.storageRepoStats(sdUUID);
  if (sdUUID in stats) await api.stopMonitoringDomain(sdUUID);
}
