import { readFile, writeFile } from "node:fs/promises";
import { type KeyValueLeniency, readKeyValue } from "../common/keyvalue.js";

/**
 * VDSM file-domain volume metadata: `<volume>.meta` beside each volume, `KEY=value`
 * lines ending with `EOF`. `DESCRIPTION` is free text; the engine writes JSON there
 * (`{"Disk Description":"OVF_STORE",...}`), hosted-engine setup plain names such as
 * `HostedEngineConfigurationImage`.
 */
export interface VolumeMetaInput {
  domainUUID: string;
  imageUUID: string;
  description: string;
  /** bytes */
  capacity: number;
  /** VDSM disk type: DATA, OVFS, HEMD (metadata), HESD (sanlock), HECI (configuration) */
  diskType: string;
  /** creation time, seconds since the epoch */
  ctime?: number;
}

export class VolumeMetaError extends Error {
  override name = "VolumeMetaError";
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

export const BLANK_UUID = "00000000-0000-0000-0000-000000000000";

export function volumeMetaPath(volumePath: string): string {
  return `${volumePath}.meta`;
}

/** The text of a `.meta` file (VDSM storage format 5 keys, sorted as VDSM writes them). */
export function formatVolumeMeta(m: VolumeMetaInput): string {
  if (/[\n\r]/.test(m.description))
    throw new VolumeMetaError("<meta>", "DESCRIPTION must be one line");
  const pairs: Array<[string, string]> = [
    ["CAP", String(m.capacity)],
    ["CTIME", String(m.ctime ?? Math.floor(Date.now() / 1000))],
    ["DESCRIPTION", m.description],
    ["DISKTYPE", m.diskType],
    ["DOMAIN", m.domainUUID],
    ["FORMAT", "RAW"],
    ["GEN", "0"],
    ["IMAGE", m.imageUUID],
    ["LEGALITY", "LEGAL"],
    ["PUUID", BLANK_UUID],
    ["TYPE", "PREALLOCATED"],
    ["VOLTYPE", "LEAF"],
  ];
  return `${pairs.map(([k, v]) => `${k}=${v}`).join("\n")}\nEOF\n`;
}

/** VDSM's `.meta` files: values byte for byte, up to `EOF`, unreadable lines skipped. */
const VOLUME_META: KeyValueLeniency = {
  comments: false,
  trim: "none",
  badLine: "skip",
  stopAt: "EOF",
};

/** Parses `.meta` text: `KEY=value` lines up to `EOF`; other lines are ignored. */
export function parseVolumeMeta(text: string): Map<string, string> {
  return readKeyValue(text, VOLUME_META);
}

export async function writeVolumeMeta(volumePath: string, m: VolumeMetaInput): Promise<string> {
  const file = volumeMetaPath(volumePath);
  await writeFile(file, formatVolumeMeta(m));
  return file;
}

export async function readVolumeMeta(volumePath: string): Promise<Map<string, string>> {
  const file = volumeMetaPath(volumePath);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new VolumeMetaError(file, `cannot read: ${(e as Error).message}`);
  }
  return parseVolumeMeta(text);
}

/**
 * True when a volume description marks an OVF_STORE disk, with the engine's rule:
 * JSON object text containing "Disk Description" whose value is "OVF_STORE".
 */
export function isOvfStoreDescription(description: string): boolean {
  if (!description.includes("Disk Description")) return false;
  if (!description.startsWith("{") || !description.endsWith("}")) return false;
  try {
    const parsed: unknown = JSON.parse(description);
    return (
      typeof parsed === "object" &&
      parsed !== null &&
      (parsed as Record<string, unknown>)["Disk Description"] === "OVF_STORE"
    );
  } catch {
    return false;
  }
}

/** The description the engine writes on its OVF_STORE disks. */
export function ovfStoreDescription(domainUUID: string, size: number): string {
  return JSON.stringify({
    Updated: true,
    Size: size,
    "Last Updated": new Date().toUTCString(),
    "Storage Domains": [{ uuid: domainUUID }],
    "Disk Description": "OVF_STORE",
  });
}
