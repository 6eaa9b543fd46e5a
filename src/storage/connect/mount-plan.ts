import path from "node:path";
import {
  type DomainType,
  domainTypeRule,
  domainTypesOf,
  mountParent,
} from "../../common/domain-types.js";
import type { HostConfig } from "../../common/host-config.js";
import { escapeRemotePath, normalizeRemotePath } from "../domain.js";
import { StorageConnectError } from "./errors.js";

/**
 * How to mount the hosted-engine storage domain, derived from hosted-engine.conf exactly
 * as the original hands it to VDSM (ovirt_hosted_engine_ha/lib/storage_server.py) and VDSM
 * turns it into a mount command (lib/vdsm/storage/storageServer.py, mount.py).
 */
export interface MountPlan {
  /** hosted-engine.conf domainType */
  domainType: DomainType;
  /** the remote path after VDSM's normalisation (fs_spec) */
  source: string;
  /** VDSM's mount point: `<mnt>/<escaped source>` or `<mnt>/glusterSD/<escaped source>` */
  mountPoint: string;
  /** `<mountPoint>/<sdUUID>` */
  domainDir: string;
  /** `mount -t` value; null = none given (mount detects the type) */
  vfsType: string | null;
  /** `mount -o` value; "" = none */
  options: string;
  /** the whole command, as VDSM's mount._mount builds it */
  argv: string[];
}

/** VDSM's NFSConnection.DEFAULT_OPTIONS and its timeo/retrans defaults. */
const NFS_DEFAULT_OPTIONS = ["soft", "nosharecache"];
const NFS_TIMEO = 100;
const NFS_RETRANS = 3;

/** The keys of hosted-engine.conf the plan reads. */
export interface ConnectionConf {
  domainType: DomainType;
  storage: string;
  sdUUID: string;
  /** `mnt_options` */
  mntOptions: string;
  /** `nfs_version` (v3, v4, v4_0, v4_1, v4_2, auto) */
  nfsVersion: string;
  /** `vfs_type` (ours, posixfs only: the original has no posixfs hosted-engine domain) */
  vfsType: string;
}

export function connectionConf(conf: HostConfig): ConnectionConf {
  const raw = (k: string) => conf.raw.get(k) ?? "";
  return {
    domainType: conf.domainType,
    storage: conf.storage,
    sdUUID: conf.sdUUID,
    mntOptions: raw("mnt_options"),
    nfsVersion: raw("nfs_version"),
    vfsType: raw("vfs_type"),
  };
}

/**
 * The NFS protocol version VDSM receives: domainType nfs3/nfs4 fix it; for `nfs` the
 * original turns nfs_version `v4_1` into `4.1`, and empty or `auto` into null (negotiate).
 */
export function nfsProtocolVersion(domainType: DomainType, nfsVersion: string): string | null {
  const fixed = domainTypeRule(domainType).nfsVersion;
  if (fixed) return fixed;
  const v = nfsVersion.trim().replaceAll("v", "").replaceAll("_", ".");
  return v === "" || v === "auto" ? null : v;
}

/** VDSM's NFSConnection option string: defaults, version, extra options, `nolock` for v3/auto. */
export function nfsMountOptions(version: string | null, mntOptions: string): string {
  const options = [...NFS_DEFAULT_OPTIONS, `timeo=${NFS_TIMEO}`, `retrans=${NFS_RETRANS}`];
  if (version !== null) {
    const parts = version.split(".");
    if (parts.length > 2 || parts.some((p) => !/^\d+$/.test(p)))
      throw new StorageConnectError(`nfs_version: invalid NFS version "${version}"`);
    options.push(`nfsvers=${Number(parts[0])}`);
    if (parts.length > 1) options.push(`minorversion=${Number(parts[1])}`);
  }
  const extra = mntOptions.split(",").filter((o) => o !== "");
  // NFSv3 or negotiated: local locks, unless the user asked for remote ones (VDSM bz 1550127)
  if ((version === null || version === "3") && !extra.includes("lock") && !extra.includes("nolock"))
    extra.push("nolock");
  return [...options, ...extra].join(",");
}

/** `mount [-t type] [-o options] source target`, as VDSM's mount._mount. */
function mountArgv(vfsType: string | null, options: string, source: string, target: string) {
  const argv = ["mount"];
  if (vfsType !== null) argv.push("-t", vfsType);
  if (options) argv.push("-o", options);
  argv.push(source, target);
  return argv;
}

/**
 * The mount plan of a hosted-engine.conf. Block domains (iscsi, fc) are refused: they
 * need device-mapper (LVM, multipath) and VDSM; unknown types and missing keys are named.
 */
export function mountPlan(c: ConnectionConf, mountRoot: string): MountPlan {
  const type = c.domainType;
  const rule = domainTypeRule(type);
  if (rule.kind === "block")
    throw new StorageConnectError(
      `domainType=${type}: block storage domains are connected by VDSM (iSCSI login, multipath, LVM, Image.prepare), and this host does not use VDSM; he-ha mounts file domains only (${domainTypesOf("file").join(", ")})`,
    );
  if (!c.storage) throw new StorageConnectError("hosted-engine.conf has no storage=");
  if (!c.sdUUID) throw new StorageConnectError("hosted-engine.conf has no sdUUID=");
  const source = normalizeRemotePath(c.storage);
  const vfsType = rule.mountVfsType ?? (c.vfsType || null);
  let options = c.mntOptions;
  if (rule.connection === "nfs") {
    if (!/^[^/]+:\//.test(source))
      throw new StorageConnectError(`storage="${c.storage}": an NFS export is server:/path`);
    options = nfsMountOptions(nfsProtocolVersion(type, c.nfsVersion), c.mntOptions);
  } else if (rule.connection === "glusterfs") {
    const [server, volume] = splitOnce(source, ":");
    if (!server || !volume?.replace(/^\/+|\/+$/g, ""))
      throw new StorageConnectError(`storage="${c.storage}": a GlusterFS volume is server:/volume`);
    // VDSM adds backup-volfile-servers from `gluster volume info` unless mnt_options has it;
    // here mnt_options is the only source (see docs/limitations.md, Gluster backup volfile servers)
  }
  const mountPoint = path.join(mountParent(type, mountRoot), escapeRemotePath(source));
  return {
    domainType: type,
    source,
    mountPoint,
    domainDir: path.join(mountPoint, c.sdUUID),
    vfsType,
    options,
    argv: mountArgv(vfsType, options, source, mountPoint),
  };
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}
