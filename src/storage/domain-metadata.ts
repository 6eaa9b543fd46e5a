/**
 * A file storage domain's `dom_md/metadata` as VDSM writes it (storage format 5):
 * `KEY=value` lines sorted by key, then `_SHA_CKSUM=<sha1>`, where the checksum is SHA-1
 * over the sorted lines concatenated without their newlines (VDSM persistent.py).
 */
import { createHash } from "node:crypto";
import { domainTypeRule, domainTypesOf, isDomainType } from "../common/domain-types.js";
import { splitKeyValue } from "../common/keyvalue.js";

export const SHA_CKSUM_KEY = "_SHA_CKSUM";

/** VDSM's defaults for a new domain (sd.py DEFAULT_LEASE_PARAMS; LOCKPOLICY written empty) */
export const DOMAIN_LEASE_DEFAULTS = {
  LOCKRENEWALINTERVALSEC: 5,
  LEASETIMESEC: 60,
  IOOPTIMEOUTSEC: 10,
  LEASERETRIES: 3,
} as const;

/** storage domain format this project lays out */
export const DOMAIN_VERSION = 5;
/** sanlock alignment and block size of the domain (512-byte blocks, 1 MiB slots) */
export const DOMAIN_ALIGNMENT = 1024 * 1024;
export const DOMAIN_BLOCK_SIZE = 512;

/** The storage domain metadata is unusable: names the file and what is wrong. */
export class DomainMetadataError extends Error {
  override name = "DomainMetadataError";
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

/**
 * VDSM's domain TYPE name of a file domain for hosted-engine.conf's `domainType` (the
 * table of src/common/domain-types.ts); block types and unknown names are refused.
 */
export function domainTypeName(domainType: string): string {
  const t = domainType.toLowerCase();
  const rule = isDomainType(t) ? domainTypeRule(t) : undefined;
  if (rule?.kind !== "file")
    throw new RangeError(
      `domainType "${domainType}" is not a file domain type (${domainTypesOf("file").join(", ")})`,
    );
  return rule.vdsmTypeName;
}

/** SHA-1 over the lines, each as ASCII with other characters as `&#<code point>;` (as VDSM hashes) */
function checksum(lines: string[]): string {
  const h = createHash("sha1");
  for (const line of lines)
    h.update(
      line.replace(/[^\x00-\x7f]/gu, (c) => `&#${c.codePointAt(0)};`),
      "ascii",
    );
  return h.digest("hex");
}

function sortedLines(fields: ReadonlyMap<string, string>): string[] {
  const keys = [...fields.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return keys.map((k) => {
    const v = fields.get(k)!;
    if (k.includes("=") || /[\n\r]/.test(k) || /[\n\r]/.test(v))
      throw new RangeError(`metadata key ${JSON.stringify(k)} or its value cannot be written`);
    return `${k}=${v}`;
  });
}

/** The metadata file's text: sorted `KEY=value` lines and the checksum line. */
export function formatDomainMetadata(fields: ReadonlyMap<string, string>): string {
  const lines = sortedLines(fields);
  return `${[...lines, `${SHA_CKSUM_KEY}=${checksum(lines)}`].join("\n")}\n`;
}

/**
 * The fields of a metadata file; verifies the checksum when one is written (VDSM
 * refuses a mismatch). Trailing NULs (block-padded copies) are ignored.
 */
export function parseDomainMetadata(text: string, file = "dom_md/metadata"): Map<string, string> {
  const fields = new Map<string, string>();
  let declared: string | undefined;
  for (const line of text.replace(/\0+$/, "").split("\n")) {
    if (line === "") continue;
    const kv = splitKeyValue(line);
    if (kv === null)
      throw new DomainMetadataError(file, `line "${line.slice(0, 80)}" is not KEY=value`);
    const key = kv.key.trim();
    if (key === SHA_CKSUM_KEY) declared = kv.value;
    else fields.set(key, kv.value);
  }
  if (declared !== undefined) {
    const computed = checksum(sortedLines(fields));
    if (computed !== declared)
      throw new DomainMetadataError(
        file,
        `checksum mismatch: ${SHA_CKSUM_KEY}=${declared}, computed ${computed}`,
      );
  }
  return fields;
}

export interface FileDomainMetadataInput {
  sdUUID: string;
  /** VDSM TYPE name (see domainTypeName) */
  type: string;
  /** hosted-engine.conf `storage=` (REMOTE_PATH) */
  remotePath: string;
  description: string;
  /** BLOCK_SIZE and ALIGNMENT (default 512 and 1 MiB) */
  geometry?: { sectorSize: number; alignment: number };
}

/** The keys VDSM writes for a new, unattached file data domain (fileSD._prepareMetadata). */
export function fileDomainMetadata(m: FileDomainMetadataInput): Map<string, string> {
  return new Map<string, string>([
    ["ALIGNMENT", String(m.geometry?.alignment ?? DOMAIN_ALIGNMENT)],
    ["BLOCK_SIZE", String(m.geometry?.sectorSize ?? DOMAIN_BLOCK_SIZE)],
    ["CLASS", "Data"],
    ["DESCRIPTION", m.description],
    ["IOOPTIMEOUTSEC", String(DOMAIN_LEASE_DEFAULTS.IOOPTIMEOUTSEC)],
    ["LEASERETRIES", String(DOMAIN_LEASE_DEFAULTS.LEASERETRIES)],
    ["LEASETIMESEC", String(DOMAIN_LEASE_DEFAULTS.LEASETIMESEC)],
    ["LOCKPOLICY", ""],
    ["LOCKRENEWALINTERVALSEC", String(DOMAIN_LEASE_DEFAULTS.LOCKRENEWALINTERVALSEC)],
    ["POOL_UUID", ""],
    ["REMOTE_PATH", m.remotePath],
    ["ROLE", "Regular"],
    ["SDUUID", m.sdUUID],
    ["TYPE", m.type],
    ["VERSION", String(DOMAIN_VERSION)],
  ]);
}

/** The metadata file inside a domain directory. */
export const DOMAIN_METADATA = "dom_md/metadata";

/**
 * The SDUUID a metadata text names, read leniently (no checksum check: a domain VDSM
 * wrote may predate it); null when it has none. What connecting a domain verifies.
 */
export function metadataSdUuid(text: string): string | null {
  for (const line of text.split("\n")) {
    const m = /^SDUUID=(.*)$/.exec(line.trim());
    if (m) return m[1]!.trim();
  }
  return null;
}
