import { execFile } from "node:child_process";
import { access, readdir } from "node:fs/promises";
import path from "node:path";
import { type DomainType, domainTypeRule, mountParent } from "../common/domain-types.js";
import type { HostConfig } from "../common/host-config.js";
import type { Logger } from "../common/log.js";
import { escapeRemotePath } from "../storage/domain.js";
import type { ConnectionStatus, VdsmApi } from "./api.js";
import { VdsmError } from "./json-rpc-client.js";
import {
  type ConnectionParams,
  DEFAULT_ISCSI_IFACE,
  type FileConnectionParams,
  type IscsiConnectionParams,
  type IscsiIface,
  parseIscsiIfaces,
  storageConnection,
} from "./storage-connection.js";

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

/** Where the iSCSI bond interfaces come from (default: `iscsiadm -m iface`). */
export type IscsiIfaceSource = () => Promise<IscsiIface[]>;

/**
 * storage_server._get_iscsi_ifaces: `iscsiadm -m iface` (the original runs it through
 * sudo; the HA services run as root here), parsed by parseIscsiIfaces. A failure (no
 * iscsiadm, an error exit) is logged and gives the default path, as in the original.
 */
export function iscsiadmIfaces(log: Logger): IscsiIfaceSource {
  return () =>
    new Promise((resolve) => {
      execFile("iscsiadm", ["-m", "iface"], { timeout: 30_000 }, (err, stdout, stderr) => {
        if (err) {
          log.warn(
            { err },
            `Failed fetching iSCSI interface list: ${(stderr || err.message).trim()}`,
          );
          resolve([DEFAULT_ISCSI_IFACE]);
          return;
        }
        resolve(parseIscsiIfaces(stdout));
      });
    });
}

/**
 * storage_server.connect_storage_server (the agent's first step, and all of
 * `hosted-engine --connect-storage`):
 * 1. file domains, `_validate_pre_connected_path`: StorageDomain.getInfo(sdUUID); when
 *    VDSM knows the domain, its mount must be at the canonical path of the normalised
 *    connection (effectiveDomainPath, a second getInfo), else VdsmStorageError (the
 *    original's DuplicateStorageConnectionException: an old mount on a path with a
 *    trailing `/`);
 * 2. StoragePool.connectStorageServer(spUUID, domainType, connectionParams) with the
 *    normalised connection (iSCSI: one per bond interface and portal, see
 *    storage-connection.ts; FC: none, so no call) — at least one connection with status
 *    0; with several, each failed one is logged, and with more than one failed iSCSI
 *    path the `iscsi_paths_blacklist` value that would skip them;
 * 3. StorageDomain.getStats(sdUUID) to refresh the domain tree (its failure only logged).
 */
export async function connectStorageServer(
  api: VdsmApi,
  conf: HostConfig,
  log: Logger,
  mountRoot: string,
  iscsiIfaces: IscsiIfaceSource = iscsiadmIfaces(log),
): Promise<void> {
  const { domainType, connectionParams } = await conlist(conf, true, iscsiIfaces);
  if (domainTypeRule(conf.domainType).kind === "file") {
    const connection = (connectionParams[0] as FileConnectionParams).connection;
    await validatePreConnectedPath(api, conf, connection, mountRoot, log);
  }
  if (connectionParams.length > 0) {
    const statuses = await api.connectStorageServer(conf.spUUID, domainType, connectionParams);
    checkConnected(statuses, connectionParams, conf, log);
  }
  await api.storageDomainStats(conf.sdUUID).catch((err: Error) => {
    log.debug({ err, sd_uuid: conf.sdUUID }, "Error refreshing storage domain");
  });
}

/** storage_server._get_conlist: the iSCSI interfaces asked for only for an iSCSI domain. */
async function conlist(conf: HostConfig, normalizePath: boolean, iscsiIfaces: IscsiIfaceSource) {
  const iscsi = domainTypeRule(conf.domainType).connection === "iscsi";
  return storageConnection(conf, {
    normalizePath,
    ...(iscsi ? { iscsiIfaces: await iscsiIfaces() } : {}),
  });
}

/** connect_storage_server's reading of VDSM's statuses (see connectStorageServer). */
function checkConnected(
  statuses: ConnectionStatus[],
  sent: ConnectionParams[],
  conf: HostConfig,
  log: Logger,
): void {
  const failed: ConnectionParams[] = [];
  for (const s of statuses) {
    if (s.status === 0 || statuses.length < 2) continue;
    const con = sent.find((c) => c.id === s.id);
    log.warn(
      { connection: redacted(con), status: s.status },
      "A connection path to the storage server is not active",
    );
    if (con) failed.push(con);
  }
  if (!statuses.some((s) => s.status === 0))
    throw new VdsmStorageError(
      `Connection to storage server failed: ${JSON.stringify(statuses)} for ${describeConnection(conf)}`,
    );
  const example = failed
    .filter((c): c is IscsiConnectionParams => "ifaceName" in c && c.ifaceName !== undefined)
    .map((c) => `${c.ifaceName}<>${c.connection}`)
    .join(",");
  if (failed.length > 1 && example)
    log.warn(
      `Many paths of your iSCSI multipath configurations are failing, if it's by design you can blacklist them setting "iscsi_paths_blacklist=${example}" in the hosted-engine configuration.`,
    );
}

/** A connection for the log, its password left out. */
function redacted(con: ConnectionParams | undefined): object | undefined {
  if (!con || !("password" in con)) return con;
  return { ...con, password: con.password ? "********" : "" };
}

/** What is being connected, for messages: the file share or the iSCSI target and portals. */
export function describeConnection(conf: HostConfig): string {
  const get = (k: string) => conf.raw.get(k) ?? "";
  switch (domainTypeRule(conf.domainType).connection) {
    case "iscsi":
      return `iSCSI target iqn=${get("iqn")} at portal address storage=${get("storage")} port=${get("port")} (tpgt portal=${get("portal")})`;
    case "fc":
      return `Fibre Channel storage domain ${conf.sdUUID}`;
    default:
      return conf.storage;
  }
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
 * connection as hosted-engine.conf names it (iSCSI: the same paths as the connect; FC:
 * none, so no call). VDSM unmounts or logs out; nothing else is called.
 */
export async function disconnectStorageServer(
  api: VdsmApi,
  conf: HostConfig,
  log: Logger,
  iscsiIfaces: IscsiIfaceSource = iscsiadmIfaces(log),
): Promise<void> {
  const { domainType, connectionParams } = await conlist(conf, false, iscsiIfaces);
  if (connectionParams.length > 0)
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
