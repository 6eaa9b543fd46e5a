import { ArchiveConflictError, ArchiveError } from "./errors.js";
import { INPUT_LIMITS } from "./limits.js";
import { buildTar, type TarEntry, type TarMember, tarLength } from "./tar.js";
import { readTarVolume, regionMd5, type TarVolume, writeAtStart } from "./volume.js";

/** The five members of the configuration archive, in the order they are written (§8). */
export const CONF_MEMBERS = [
  "version",
  "fhanswers.conf",
  "hosted-engine.conf",
  "broker.conf",
  "vm.conf",
] as const;
export type ConfMemberName = (typeof CONF_MEMBERS)[number];
export type ConfContents = Record<ConfMemberName, string>;

/** Every configuration archive is exactly one 20480-byte record. */
export const CONF_ARCHIVE_SIZE = 20480;

/** Content of `version` when none is given: the release of the archive layout we write. */
export const DEFAULT_VERSION_MEMBER = "2.5.3";

export function isConfMemberName(name: string): name is ConfMemberName {
  return (CONF_MEMBERS as readonly string[]).includes(name);
}

/** Member name as listed, without a leading `./` (archives made with `tar -C dir .`). */
export function memberName(entry: TarEntry): string {
  return entry.name.replace(/^(\.\/)+/, "");
}

/** The data of the last regular-file entry called `name`, or undefined. */
export function findMember(entries: readonly TarEntry[], name: string): Buffer | undefined {
  let found: Buffer | undefined;
  for (const e of entries)
    if ((e.type === "0" || e.type === "7") && memberName(e) === name) found = e.data;
  return found;
}

/** A configuration archive read from its volume, valid (all five members present). */
export interface ConfArchive {
  volume: string;
  members: ConfContents;
  compressed: boolean;
  /** what compare-and-swap compares: MD5 of the first regionLength bytes */
  regionLength: number;
  md5: string;
}

/** Names of the five members missing from a tar listing ([] when valid). */
export function missingConfMembers(tar: TarVolume): ConfMemberName[] {
  return CONF_MEMBERS.filter((m) => findMember(tar.entries, m) === undefined);
}

/** Reads and validates the configuration archive at offset 0 of `volume` (plain or gzip). */
export async function readConfArchive(volume: string): Promise<ConfArchive> {
  const tar = await readTarVolume(volume, {
    maxBytes: INPUT_LIMITS.confArchiveDecompressed,
    maxDecompressed: INPUT_LIMITS.confArchiveDecompressed,
  });
  const missing = missingConfMembers(tar);
  if (missing.length > 0) {
    throw new ArchiveError(
      volume,
      `not a valid configuration archive: missing ${missing.map((m) => `"${m}"`).join(", ")}`,
    );
  }
  const members = {} as ConfContents;
  for (const m of CONF_MEMBERS) members[m] = findMember(tar.entries, m)!.toString("utf8");
  return {
    volume,
    members,
    compressed: tar.compressed,
    regionLength: tar.regionLength,
    md5: tar.md5,
  };
}

/** One member's text from the configuration archive (validated as a whole first). */
export async function readConfMember(volume: string, name: ConfMemberName): Promise<string> {
  return (await readConfArchive(volume)).members[name];
}

/**
 * The configuration archive bytes: uncompressed ustar, the five members in order, zero
 * padded to exactly 20480 bytes. Members too large for that throw ArchiveError.
 */
export function buildConfArchive(contents: ConfContents, volume = "<archive>"): Buffer {
  const members: TarMember[] = CONF_MEMBERS.map((name) => ({
    name,
    data: Buffer.from(contents[name], "utf8"),
  }));
  const needed = tarLength(members);
  if (needed > CONF_ARCHIVE_SIZE) {
    const sizes = members.map((m) => `${m.name} ${m.data.length}`).join(", ");
    throw new ArchiveError(
      volume,
      `members too large: the archive needs ${needed} bytes (headers and padding included), the limit is ${CONF_ARCHIVE_SIZE} (${sizes})`,
    );
  }
  return buildTar(members, CONF_ARCHIVE_SIZE);
}

/** Writes a fresh configuration archive at offset 0 of the volume (nothing after it changes). */
export async function writeConfArchive(volume: string, contents: ConfContents): Promise<void> {
  await writeAtStart(volume, buildConfArchive(contents, volume));
}

export interface UpdateOptions {
  /** called after the archive was read and the new one built, before the MD5 re-check */
  beforeWrite?: () => Promise<void> | void;
}

/**
 * Replaces one member with compare-and-swap (§8): read all five, replace one, and rewrite
 * only when the MD5 of the region read is unchanged; otherwise ArchiveConflictError and
 * nothing is written. The rewritten archive is always uncompressed, 20480 bytes.
 */
export async function updateConfMember(
  volume: string,
  name: ConfMemberName,
  content: string,
  opts: UpdateOptions = {},
): Promise<ConfContents> {
  const current = await readConfArchive(volume);
  const next: ConfContents = { ...current.members, [name]: content };
  const bytes = buildConfArchive(next, volume);
  await opts.beforeWrite?.();
  if ((await regionMd5(volume, current.regionLength)) !== current.md5) {
    throw new ArchiveConflictError(volume);
  }
  await writeAtStart(volume, bytes);
  return next;
}
