import path from "node:path";
import {
  blockSpecialVolumes,
  domMdPaths,
  isBlockDomain,
  mountParent,
  preparedVolumePath,
} from "../common/domain-types.js";
import type { HostConfig } from "../common/host-config.js";

/** The storage domain directory or a volume path cannot be resolved from hosted-engine.conf. */
export class DomainPathError extends Error {
  override name = "DomainPathError";
}

/**
 * VDSM's normalisation of a remote path before it names the mount point: the part after
 * `server:` is normalised like a POSIX path (duplicate and trailing slashes, `.`).
 */
export function normalizeRemotePath(remote: string): string {
  const m = /^(\[[^\]]*\]|[^:/]+):(.*)$/.exec(remote);
  if (!m) return path.posix.normalize(remote).replace(/(.)\/$/, "$1");
  const tail = m[2] === "" ? "" : path.posix.normalize(m[2]!).replace(/(.)\/$/, "$1");
  return `${m[1]}:${tail}`;
}

/** The mount point name VDSM derives from a remote path: `_` → `__`, then `/` → `_`. */
export function escapeRemotePath(remote: string): string {
  return remote.replaceAll("_", "__").replaceAll("/", "_");
}

/**
 * The storage domain directory of hosted-engine.conf: `domain_path` when set, else
 * `<mountRoot>/[glusterSD/]<escaped storage>/<sdUUID>` for file domains. Block domains
 * (iscsi, fc) have no directory: they need `domain_path`.
 */
export function domainDir(conf: HostConfig, mountRoot: string): string {
  if (conf.domainPath) return conf.domainPath;
  const type = conf.domainType;
  if (isBlockDomain(type)) {
    throw new DomainPathError(
      `domainType=${type}: a block storage domain has no directory (its volumes are LVs, reached through VDSM's Image.prepare); domain_path names a directory laid out as a file domain`,
    );
  }
  if (!conf.storage)
    throw new DomainPathError("hosted-engine.conf has no storage= (and no domain_path=)");
  if (!conf.sdUUID)
    throw new DomainPathError("hosted-engine.conf has no sdUUID= (and no domain_path=)");
  const mountName = escapeRemotePath(normalizeRemotePath(conf.storage));
  return path.join(mountParent(type, mountRoot), mountName, conf.sdUUID);
}

/** `<domain>/images/<image>/<volume>` */
export function volumePath(domain: string, imageUUID: string, volumeUUID: string): string {
  return path.join(domain, "images", imageUUID, volumeUUID);
}

/** The older layout's links: `<domain>/ha_agent/hosted-engine.{metadata,lockspace}`. */
export function haAgentLinks(domain: string): { metadata: string; lockspace: string } {
  return {
    metadata: path.join(domain, "ha_agent", "hosted-engine.metadata"),
    lockspace: path.join(domain, "ha_agent", "hosted-engine.lockspace"),
  };
}

/** The HA volumes and the domain's lockspace and VM-lease volumes, as the services use them. */
export interface HaVolumes {
  /** file: the domain directory; block: `/dev/<sdUUID>`, the VG's LVs (no images/ tree) */
  domain: string;
  metadata: string;
  lockspace: string;
  /** "" when the configuration volume UUIDs are not configured */
  conf: string;
  /** the domain's lockspace volume (`<sdUUID>` at offset 0): dom_md/ids or the `ids` LV */
  ids: string;
  /** the domain's VM leases: dom_md/xleases or the `xleases` LV */
  xleases: string;
}

/** Where a host keeps its mounts and devices (HaPaths' root and mountRoot). */
export interface HostStorageRoots {
  /** `$HE_HA_ROOT`: `<root>/dev` and `<root>/run` stand for /dev and /run */
  root: string;
  mountRoot: string;
}

/**
 * The HA volumes of hosted-engine.conf.
 * - File domains: `<domain>/images/<img>/<vol>`; metadata and lockspace fall back to the
 *   older `ha_agent/` links when their UUIDs are not configured; `conf` is "" when the
 *   configuration volume UUIDs are not configured (configuration not on shared storage).
 * - Block domains (reached through VDSM only): the paths Image.prepare gives,
 *   `/run/vdsm/storage/<sd>/<img>/<vol>` (links to the LVs), and the special LVs
 *   `/dev/<sd>/ids`, `/dev/<sd>/xleases`; every volume UUID must be configured (no
 *   `ha_agent/` links on a block domain).
 */
export function haVolumes(conf: HostConfig, roots: HostStorageRoots): HaVolumes {
  const block = isBlockDomain(conf.domainType) && !conf.domainPath;
  const domain = block ? "" : domainDir(conf, roots.mountRoot);
  const links = block ? undefined : haAgentLinks(domain);
  const prepared = (img: string, vol: string) =>
    preparedVolumePath(path.join(roots.root, "run"), conf.sdUUID, img, vol);
  const pick = (what: string, img: string, vol: string, fallback: string | undefined): string => {
    if (img && vol) return block ? prepared(img, vol) : volumePath(domain, img, vol);
    if (img || vol) {
      throw new DomainPathError(
        `hosted-engine.conf sets only one of ${what}_image_UUID and ${what}_volume_UUID`,
      );
    }
    if (fallback === undefined)
      throw new DomainPathError(
        `domainType=${conf.domainType}: hosted-engine.conf has no ${what}_image_UUID and ${what}_volume_UUID; a block storage domain has no ha_agent/ links to fall back to`,
      );
    return fallback;
  };
  if (block && !conf.sdUUID)
    throw new DomainPathError("hosted-engine.conf has no sdUUID= (the block domain's VG name)");
  const special = block
    ? blockSpecialVolumes(conf.sdUUID, path.join(roots.root, "dev"))
    : domMdPaths(domain);
  return {
    domain: block ? special.dir : domain,
    metadata: pick("metadata", conf.metadataImageUUID, conf.metadataVolumeUUID, links?.metadata),
    lockspace: pick(
      "lockspace",
      conf.lockspaceImageUUID,
      conf.lockspaceVolumeUUID,
      links?.lockspace,
    ),
    conf: pick("conf", conf.confImageUUID, conf.confVolumeUUID, block ? undefined : ""),
    ids: special.ids,
    xleases: special.xleases,
  };
}

/** A file volume's lease: `<volume>.lease`, sanlock resource `<volume UUID>` at offset 0. */
export function volumeLeasePath(volumePath: string): string {
  return `${volumePath}.lease`;
}

/** offset of a volume's lease in its `.lease` file (VDSM fileVolume.LEASE_FILEOFFSET) */
export const VOLUME_LEASE_OFFSET = 0;
