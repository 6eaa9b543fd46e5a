import { access, readdir } from "node:fs/promises";
import path from "node:path";
import type { HostConfig } from "../common/host-config.js";
import type { Logger } from "../common/log.js";
import { escapeRemotePath } from "../storage/domain.js";
import { type DomainType, mountParent } from "../storage/domain-types.js";
import type { VdsmApi } from "./api.js";
import { VdsmError } from "./json-rpc-client.js";
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
 * 1. storage_server.connect_storage_server (connectStorageServer below);
 * 2. storage_backends.VdsmBackend.connect: Image.prepare(spUUID, sdUUID, image, volume)
 *    for each HA volume (metadata, lockspace, configuration), giving their paths.
 * Answers the prepared paths by volume name.
 */
export async function connectHaStorage(
  api: VdsmApi,
  conf: HostConfig,
  log: Logger,
  mountRoot: string,
): Promise<Record<string, string>> {
  await connectStorageServer(api, conf, log, mountRoot);
  const paths: Record<string, string> = {};
  for (const v of haVolumeIds(conf)) {
    paths[v.name] = await api.prepareImage(conf.spUUID, conf.sdUUID, v.image, v.volume);
  }
  return paths;
}

/**
 * storage_server.connect_storage_server (the agent's first step, and all of
 * `hosted-engine --connect-storage`), for file domains:
 * 1. `_validate_pre_connected_path`: StorageDomain.getInfo(sdUUID); when VDSM knows the
 *    domain, its mount must be at the canonical path of the normalised connection
 *    (effectiveDomainPath, a second getInfo), else VdsmStorageError (the original's
 *    DuplicateStorageConnectionException: an old mount on a path with a trailing `/`);
 * 2. StoragePool.connectStorageServer(spUUID, domainType, connectionParams) with the
 *    normalised connection — at least one connection with status 0;
 * 3. StorageDomain.getStats(sdUUID) to refresh the domain tree (its failure only logged).
 */
export async function connectStorageServer(
  api: VdsmApi,
  conf: HostConfig,
  log: Logger,
  mountRoot: string,
): Promise<void> {
  const { domainType, connectionParams } = storageConnection(conf, { normalizePath: true });
  const connection = connectionParams[0]?.connection ?? conf.storage;
  await validatePreConnectedPath(api, conf, connection, mountRoot, log);
  const statuses = await api.connectStorageServer(conf.spUUID, domainType, connectionParams);
  if (!statuses.some((s) => s.status === 0))
    throw new VdsmStorageError(
      `Connection to storage server failed: ${JSON.stringify(statuses)} for ${conf.storage}`,
    );
  await api.storageDomainStats(conf.sdUUID).catch((err: Error) => {
    log.debug({ err, sd_uuid: conf.sdUUID }, "Error refreshing storage domain");
  });
}

/** env/path.py canonize_file_path: `<mnt>/[glusterSD/]<escaped remote path>/<sdUUID>`. */
export function canonicalDomainPath(
  domainType: DomainType,
  remotePath: string,
  sdUUID: string,
  mountRoot: string,
): string {
  return path.join(mountParent(domainType, mountRoot), escapeRemotePath(remotePath), sdUUID);
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

/**
 * env/path.py get_domain_path: the canonical path of the `remotePath` VDSM reports
 * (StorageDomain.getInfo) when it exists; else the first `<name>/<sdUUID>` that exists
 * below `<mnt>` (`<mnt>/glusterSD` for GlusterFS).
 */
export async function effectiveDomainPath(
  api: VdsmApi,
  conf: HostConfig,
  mountRoot: string,
): Promise<string> {
  try {
    const info = await api.storageDomainInfo(conf.sdUUID);
    if (typeof info.remotePath === "string") {
      const p = canonicalDomainPath(conf.domainType, info.remotePath, conf.sdUUID, mountRoot);
      if (await exists(p)) return p;
    }
  } catch (err) {
    if (!(err instanceof VdsmError)) throw err;
  }
  const parent = mountParent(conf.domainType, mountRoot);
  const names = await readdir(parent).catch(() => [] as string[]);
  for (const name of names) {
    const p = path.join(parent, name, conf.sdUUID);
    if (await exists(p)) return p;
  }
  throw new VdsmStorageError(`path to storage domain ${conf.sdUUID} not found in ${parent}`);
}

/** storage_server._validate_pre_connected_path (see connectStorageServer). */
async function validatePreConnectedPath(
  api: VdsmApi,
  conf: HostConfig,
  connection: string,
  mountRoot: string,
  log: Logger,
): Promise<void> {
  try {
    await api.storageDomainInfo(conf.sdUUID);
  } catch (err) {
    if (!(err instanceof VdsmError)) throw err;
    log.debug({ sd_uuid: conf.sdUUID }, `Storage domain ${conf.sdUUID} is not available`);
    return;
  }
  const canonical = canonicalDomainPath(conf.domainType, connection, conf.sdUUID, mountRoot);
  const effective = await effectiveDomainPath(api, conf, mountRoot);
  if (effective !== canonical)
    throw new VdsmStorageError(
      `The hosted-engine storage domain is already mounted on '${effective}' with a path that is not supported anymore: the right path should be '${canonical}'.`,
    );
}

/**
 * storage_server.disconnect_storage_server (`hosted-engine --disconnect-storage`):
 * StoragePool.disconnectStorageServer(spUUID, domainType, connectionParams) with the
 * connection as hosted-engine.conf names it. VDSM unmounts; nothing else is called.
 */
export async function disconnectStorageServer(api: VdsmApi, conf: HostConfig): Promise<void> {
  const { domainType, connectionParams } = storageConnection(conf, { normalizePath: false });
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
