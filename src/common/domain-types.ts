/**
 * The hosted-engine storage types (hosted-engine.conf `domainType`), one record each:
 * file or block, how the domain is connected, where VDSM mounts a file domain, and
 * where a domain's special volumes and the HA volumes live. Every caller reads the
 * storage types from here (the original: env/constants.py DOMAIN_TYPE_* and
 * STORAGE_TYPE_*, lib/storage_server.py; VDSM: storage/sd.py, fileSD.py, blockSD.py).
 */
import path from "node:path";

/** hosted-engine.conf `domainType` values, as the original compares them (exact, lower case) */
export const DOMAIN_TYPES = ["nfs", "nfs3", "nfs4", "glusterfs", "posixfs", "iscsi", "fc"] as const;
export type DomainType = (typeof DOMAIN_TYPES)[number];

/** A file domain is a directory on a mounted filesystem; a block domain is an LVM VG on LUNs. */
export type DomainKind = "file" | "block";

/** How the domain's storage is attached to the host. */
export type ConnectionKind = "nfs" | "glusterfs" | "posixfs" | "iscsi" | "fc";

export interface DomainTypeRule {
  type: DomainType;
  kind: DomainKind;
  connection: ConnectionKind;
  /**
   * VDSM's storage type id, StoragePool.connectStorageServer `domainType` (vdsm sd.py
   * NFS_DOMAIN=1, FCP_DOMAIN=2, ISCSI_DOMAIN=3, POSIXFS_DOMAIN=6, GLUSTERFS_DOMAIN=7)
   */
  vdsmStorageType: 1 | 2 | 3 | 6 | 7;
  /**
   * whether the original connects it through VDSM (storage_server._get_conlist): every
   * type but posixfs, which it refuses ("Storage type not supported")
   */
  connectedThroughVdsm: boolean;
  /** VDSM's domain metadata TYPE (sd.DOMAIN_TYPES) */
  vdsmTypeName: "NFS" | "GLUSTERFS" | "POSIXFS" | "ISCSI" | "FCP";
  /** the NFS protocol version the type fixes (nfs3, nfs4); NFS `nfs` reads nfs_version */
  nfsVersion?: "3" | "4";
  /**
   * file domains: the folder under VDSM's mount root holding its mount points
   * (`glusterSD` for GlusterFS, fileSD.getMountsList / env/path.py canonize_file_path)
   */
  mountSubdir: "" | "glusterSD";
  /** file domains: `mount -t` (null: `vfs_type` of hosted-engine.conf, or none) */
  mountVfsType: "nfs" | "glusterfs" | null;
}

const nfs = (type: "nfs" | "nfs3" | "nfs4", nfsVersion?: "3" | "4"): DomainTypeRule => ({
  type,
  kind: "file",
  connection: "nfs",
  vdsmStorageType: 1,
  connectedThroughVdsm: true,
  vdsmTypeName: "NFS",
  ...(nfsVersion ? { nfsVersion } : {}),
  mountSubdir: "",
  mountVfsType: "nfs",
});

const RULES: Readonly<Record<DomainType, DomainTypeRule>> = {
  nfs: nfs("nfs"),
  nfs3: nfs("nfs3", "3"),
  nfs4: nfs("nfs4", "4"),
  glusterfs: {
    type: "glusterfs",
    kind: "file",
    connection: "glusterfs",
    vdsmStorageType: 7,
    connectedThroughVdsm: true,
    vdsmTypeName: "GLUSTERFS",
    mountSubdir: "glusterSD",
    mountVfsType: "glusterfs",
  },
  posixfs: {
    type: "posixfs",
    kind: "file",
    connection: "posixfs",
    vdsmStorageType: 6,
    connectedThroughVdsm: false,
    vdsmTypeName: "POSIXFS",
    mountSubdir: "",
    mountVfsType: null,
  },
  iscsi: {
    type: "iscsi",
    kind: "block",
    connection: "iscsi",
    vdsmStorageType: 3,
    connectedThroughVdsm: true,
    vdsmTypeName: "ISCSI",
    mountSubdir: "",
    mountVfsType: null,
  },
  fc: {
    type: "fc",
    kind: "block",
    connection: "fc",
    vdsmStorageType: 2,
    connectedThroughVdsm: true,
    vdsmTypeName: "FCP",
    mountSubdir: "",
    mountVfsType: null,
  },
};

/** `domainType` is not a storage type: names the value and where it was read. */
export class DomainTypeError extends Error {
  override name = "DomainTypeError";
}

export function isDomainType(value: string): value is DomainType {
  return (DOMAIN_TYPES as readonly string[]).includes(value);
}

/** The one parse of a `domainType` value; the error names the value (the caller adds the file). */
export function parseDomainType(value: string): DomainType {
  if (isDomainType(value)) return value;
  throw new DomainTypeError(`domainType="${value}" is not one of ${DOMAIN_TYPES.join(", ")}`);
}

export function domainTypeRule(type: DomainType): DomainTypeRule {
  return RULES[type];
}

export function isBlockDomain(type: DomainType): boolean {
  return RULES[type].kind === "block";
}

/** The types of one kind, for messages ("nfs, nfs3, nfs4, glusterfs, posixfs"). */
export function domainTypesOf(kind: DomainKind): DomainType[] {
  return DOMAIN_TYPES.filter((t) => RULES[t].kind === kind);
}

/**
 * Where VDSM puts a file domain's mount point: `<mnt>` or `<mnt>/glusterSD` (the one
 * home of the GlusterFS mount-root rule).
 */
export function mountParent(type: DomainType, mountRoot: string): string {
  const sub = RULES[type].mountSubdir;
  return sub ? path.join(mountRoot, sub) : mountRoot;
}

/** A domain's special volumes (VDSM sd.SPECIAL_VOLUMES_V4) and where they are. */
export interface DomainSpecialVolumes {
  /** file: `<domain>/dom_md`; block: `/dev/<sdUUID>` (the VG's device folder) */
  dir: string;
  /** VDSM's domain metadata (file: KEY=value lines, _SHA_CKSUM; block: slots) */
  metadata: string;
  /** lockspace `<sdUUID>` at offset 0 */
  ids: string;
  /** the SDM resource at 1 alignment unit; on block domains also the volume leases */
  leases: string;
  /** VM leases, index at 1 alignment unit (see xleases.ts) */
  xleases: string;
  inbox: string;
  outbox: string;
}

/** Backwards name of a file domain's special volumes. */
export type DomMdPaths = DomainSpecialVolumes;

function specialVolumesIn(dir: string): DomainSpecialVolumes {
  const at = (name: string) => path.join(dir, name);
  return {
    dir,
    metadata: at("metadata"),
    ids: at("ids"),
    leases: at("leases"),
    xleases: at("xleases"),
    inbox: at("inbox"),
    outbox: at("outbox"),
  };
}

/** A file domain's special volumes: `<domain>/dom_md/*` (fileSD.py). */
export function domMdPaths(domain: string): DomainSpecialVolumes {
  return specialVolumesIn(path.join(domain, "dom_md"));
}

/** A block domain's special volumes: the LVs `/dev/<sdUUID>/<name>` (lvm.lvPath). */
export function blockSpecialVolumes(sdUUID: string, devRoot = "/dev"): DomainSpecialVolumes {
  return specialVolumesIn(path.join(devRoot, sdUUID));
}

/**
 * Where Image.prepare puts a prepared volume, for file and block domains alike:
 * `<run>/vdsm/storage/<sdUUID>/<imgUUID>/<volUUID>` (sd.getImageRundir; on a block
 * domain a link to `/dev/<sdUUID>/<lv>`). `runRoot` is the host's `/run`.
 */
export function preparedVolumePath(
  runRoot: string,
  sdUUID: string,
  imageUUID: string,
  volumeUUID: string,
): string {
  return path.join(runRoot, "vdsm", "storage", sdUUID, imageUUID, volumeUUID);
}
