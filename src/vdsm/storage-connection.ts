import path from "node:path";
import type { HostConfig } from "../common/host-config.js";
import { domainTypeRule } from "../storage/domain-types.js";

/** One entry of StoragePool.connectStorageServer's `connectionParams` (file domains). */
export interface FileConnectionParams {
  connection: string;
  user: "kvm";
  id: string;
  protocol_version?: string;
  vfs_type?: "glusterfs";
  mnt_options?: string;
}

export class StorageConnectionError extends Error {
  override name = "StorageConnectionError";
}

/**
 * Python's `os.path.normpath` of a connection string (`server:/he/` → `server:/he`,
 * `a//b` → `a/b`), as the original's `_fix_filebased_connection_path` applies it before
 * connecting.
 */
export function pyNormpath(p: string): string {
  if (p === "") return ".";
  const n = path.posix.normalize(p);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

/**
 * `domainType` and `connectionParams` for StoragePool.connectStorageServer from
 * hosted-engine.conf, as the original's storage_server.py `_get_conlist_nfs_gluster`
 * builds them: `connection` = `storage`, `user` = kvm, `id` = `connectionUUID`; NFS with
 * `protocol_version` (auto, or nfs_version with "v" dropped and "_" → "."; nfs3 → 3,
 * nfs4 → 4), GlusterFS with `vfs_type` glusterfs; `mnt_options` when set. iSCSI and FC
 * (block domains) are not built here: this project does not serve block domains.
 * `normalizePath` (the original's connect; its disconnect sends `storage` as written, "to
 * be sure we really disconnect from where we were connected"): `connection` through
 * pyNormpath.
 */
export function storageConnection(
  conf: HostConfig,
  opts: { normalizePath: boolean },
): {
  domainType: number;
  connectionParams: FileConnectionParams[];
} {
  const raw = conf.raw;
  const con: FileConnectionParams = {
    connection: opts.normalizePath ? pyNormpath(conf.storage) : conf.storage,
    user: "kvm",
    id: raw.get("connectionUUID") ?? "",
  };
  const rule = domainTypeRule(conf.domainType);
  if (!rule.connectedThroughVdsm || rule.kind !== "file")
    throw new StorageConnectionError(
      `domainType=${conf.domainType}: only nfs, nfs3, nfs4 and glusterfs storage is connected through VDSM here`,
    );
  if (rule.connection === "nfs") {
    const v = raw.get("nfs_version");
    con.protocol_version = rule.nfsVersion ?? (v ? v.replace("v", "").replace("_", ".") : "auto");
  } else con.vfs_type = "glusterfs";
  if (!con.id) throw new StorageConnectionError("connectionUUID is not set in hosted-engine.conf");
  const mnt = raw.get("mnt_options");
  if (mnt) con.mnt_options = mnt;
  return { domainType: rule.vdsmStorageType, connectionParams: [con] };
}
