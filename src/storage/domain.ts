import path from "node:path";
import type { HostConfig } from "../common/host-config.js";
import { isBlockDomain, mountParent } from "./domain-types.js";

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
      `domainType=${type}: block storage domains are out of scope; set domain_path in hosted-engine.conf to a file domain directory`,
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

/**
 * The three HA volumes of hosted-engine.conf. Metadata and lockspace fall back to the
 * older `ha_agent/` links when their UUIDs are not configured; `conf` is "" when the
 * configuration volume UUIDs are not configured (configuration not on shared storage).
 */
export function haVolumes(
  conf: HostConfig,
  mountRoot: string,
): { domain: string; metadata: string; lockspace: string; conf: string } {
  const domain = domainDir(conf, mountRoot);
  const links = haAgentLinks(domain);
  const pick = (what: string, img: string, vol: string, fallback: string): string => {
    if (img && vol) return volumePath(domain, img, vol);
    if (img || vol) {
      throw new DomainPathError(
        `hosted-engine.conf sets only one of ${what}_image_UUID and ${what}_volume_UUID`,
      );
    }
    return fallback;
  };
  return {
    domain,
    metadata: pick("metadata", conf.metadataImageUUID, conf.metadataVolumeUUID, links.metadata),
    lockspace: pick(
      "lockspace",
      conf.lockspaceImageUUID,
      conf.lockspaceVolumeUUID,
      links.lockspace,
    ),
    conf: pick("conf", conf.confImageUUID, conf.confVolumeUUID, ""),
  };
}

/** A file volume's lease: `<volume>.lease`, sanlock resource `<volume UUID>` at offset 0. */
export function volumeLeasePath(volumePath: string): string {
  return `${volumePath}.lease`;
}

/** offset of a volume's lease in its `.lease` file (VDSM fileVolume.LEASE_FILEOFFSET) */
export const VOLUME_LEASE_OFFSET = 0;
