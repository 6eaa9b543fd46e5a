import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * A file storage domain's `dom_md/metadata`: `KEY=value` lines sorted by key, then
 * `_SHA_CKSUM=<sha1 of the lines without newlines>` (VDSM lib/vdsm/storage/persistent.py).
 */
export const DOMAIN_METADATA = "dom_md/metadata";
const CKSUM = "_SHA_CKSUM";

export function formatDomainMetadata(md: Record<string, string>): string {
  const lines = Object.keys(md)
    .filter((k) => k !== CKSUM)
    .sort()
    .map((k) => `${k}=${md[k]}`);
  const h = createHash("sha1");
  for (const l of lines) h.update(l, "ascii");
  return [...lines, `${CKSUM}=${h.digest("hex")}`].map((l) => `${l}\n`).join("");
}

/** The metadata of a hosted-engine file domain as VDSM's fileSD.create writes it (version 5). */
export function fileDomainMetadata(opts: {
  sdUUID: string;
  remotePath: string;
  type: "NFS" | "GLUSTERFS" | "POSIXFS" | "LOCALFS";
  ioTimeout: number;
}): string {
  return formatDomainMetadata({
    ALIGNMENT: "1048576",
    BLOCK_SIZE: "512",
    CLASS: "Data",
    DESCRIPTION: "hosted_storage",
    IOOPTIMEOUTSEC: String(opts.ioTimeout),
    LEASERETRIES: "3",
    LEASETIMESEC: "60",
    LOCKPOLICY: "",
    LOCKRENEWALINTERVALSEC: "5",
    POOL_UUID: "",
    REMOTE_PATH: opts.remotePath,
    ROLE: "Regular",
    SDUUID: opts.sdUUID,
    TYPE: opts.type,
    VERSION: "5",
  });
}

/** The SDUUID a metadata text names; null when it has none. */
export function metadataSdUuid(text: string): string | null {
  for (const line of text.split("\n")) {
    const m = /^SDUUID=(.*)$/.exec(line.trim());
    if (m) return m[1]!.trim();
  }
  return null;
}

const VDSM_TYPES: Record<string, "NFS" | "GLUSTERFS" | "POSIXFS"> = {
  nfs: "NFS",
  nfs3: "NFS",
  nfs4: "NFS",
  glusterfs: "GLUSTERFS",
  posixfs: "POSIXFS",
};

/**
 * Writes `<domain>/dom_md/metadata` unless the domain has one (made by VDSM): what
 * `he-ha storage connect` and the agent verify before using a domain. Returns the
 * directory it created, or null.
 */
export async function writeDomainMetadataIfAbsent(
  domain: string,
  opts: { sdUUID: string; domainType: string; storage: string; ioTimeout: number },
): Promise<string | null> {
  const dir = path.join(domain, "dom_md");
  const made = (await mkdir(dir, { recursive: true })) ?? null;
  const text = fileDomainMetadata({
    sdUUID: opts.sdUUID,
    remotePath: opts.storage,
    type: VDSM_TYPES[opts.domainType] ?? "POSIXFS",
    ioTimeout: opts.ioTimeout,
  });
  try {
    await writeFile(path.join(domain, DOMAIN_METADATA), text, { flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  return made ? dir : null;
}
