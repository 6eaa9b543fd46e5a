/**
 * The `xleases` volume of a storage domain (`<domain>/dom_md/xleases`): VM leases (key =
 * VM uuid) whose offsets are found through an index, format version 1 as VDSM's
 * `xlease.py` writes it.
 *
 * The volume is made of slots of `alignment` bytes (1 MiB with 512-byte blocks):
 * slot 0 lockspace (unused: VDSM joins the domain lockspace on `dom_md/ids`), slot 1 the
 * index, slot 2 reserved for sanlock, user leases from slot 3: the lease of record
 * `recnum` is at `(3 + recnum) × alignment`. The offset is computed from the record's
 * position; the offset written in the record is only for people reading dumps.
 *
 * Index (XLEASES_INDEX_SIZE bytes at slot 1): a 512-byte metadata block
 *   magic (int32, big-endian) \0 version "0001" \0 lockspace (48, NUL-padded) \0
 *   mtime "%010d" \0 updating ('u' | '-') 440×\0 '\n'
 * then 64-byte records from byte 512:
 *   resource (48, NUL-padded) \0 offset "%011d" \0 updating ('u' | '-') reserved '-' '\n'
 * A free record has an empty resource, offset 0 and flags '-'.
 *
 * Pure codec over Buffers, plus small async helpers doing the file I/O.
 */
import { constants } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { directInitResource } from "../sanlock/direct-init.js";
import { SANLOCK_NAME_MAX } from "../sanlock/names.js";
import { alignedBuffer } from "./direct-io.js";

const MiB = 1024 * 1024;

/** slot size with 512-byte blocks (VDSM's default alignment) */
export const XLEASES_ALIGNMENT = MiB;
/** slots before the first user lease: lockspace, index, sanlock's internal resource */
export const XLEASES_RESERVED_SLOTS = 3;
/** where the index starts in the volume (slot 1) */
export const XLEASES_INDEX_OFFSET = XLEASES_ALIGNMENT;
/** bytes of the index that are read: 62 × 4096 */
export const XLEASES_INDEX_SIZE = 62 * 4096;
/** the metadata block at the start of the index */
export const XLEASES_METADATA_SIZE = 512;
export const XLEASES_RECORD_SIZE = 64;
/** records in an index (3960) */
export const XLEASES_MAX_RECORDS =
  (XLEASES_INDEX_SIZE - XLEASES_METADATA_SIZE) / XLEASES_RECORD_SIZE;
export const XLEASES_INDEX_MAGIC = 0x12152016;
export const XLEASES_INDEX_VERSION = 1;

const FLAG_NONE = 0x2d; // '-'
const FLAG_UPDATING = 0x75; // 'u'
const NEWLINE = 0x0a;

// metadata block field offsets (">i x 4s x 48s x 10s x c 440x c")
const MD_VERSION = 5;
const MD_LOCKSPACE = 10;
const MD_MTIME = 59;
const MD_UPDATING = 70;
const MD_END = 511;

// record field offsets ("48s x 11s x 3c")
const REC_OFFSET = 49;
const REC_UPDATING = 61;
const REC_RESERVED = 62;
const REC_END = 63;

/** The index is unusable (bad magic or version, updating flag, truncated): must be formatted or rebuilt. */
export class XleasesIndexError extends Error {
  override name = "XleasesIndexError";
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`xleases index of ${file}: ${reason}`);
  }
}

/** No usable record for the lease id in the index. */
export class NoSuchXleaseError extends Error {
  override name = "NoSuchXleaseError";
  constructor(
    readonly file: string,
    readonly leaseId: string,
    reason = "no such lease in the index",
  ) {
    super(`xleases ${file}: lease ${leaseId}: ${reason}`);
  }
}

export interface XleasesMetadata {
  version: number;
  lockspace: string;
  /** seconds since the epoch of the last format */
  mtime: number;
  updating: boolean;
}

export interface XleaseRecord {
  /** "" for a free record */
  resource: string;
  /** the offset written in the record (informational) */
  offset: number;
  updating: boolean;
}

/** Where a VM lease lives, as sanlock needs it. */
export interface XleaseInfo {
  lockspace: string;
  resource: string;
  path: string;
  offset: number;
}

/** A lockspace or lease name as VDSM's index stores it: ASCII, 1..48 bytes. */
function checkName(what: string, name: string, allowEmpty = false): Buffer {
  const ascii = [...name].every((c) => c.charCodeAt(0) >= 1 && c.charCodeAt(0) <= 0x7f);
  if (!ascii) throw new RangeError(`${what} "${name}" is not ASCII without NUL`);
  const bytes = Buffer.from(name, "ascii");
  if (bytes.length > SANLOCK_NAME_MAX)
    throw new RangeError(`${what} "${name}" is longer than ${SANLOCK_NAME_MAX} bytes`);
  if (!allowEmpty && bytes.length === 0) throw new RangeError(`${what} is empty`);
  return bytes;
}

function zeroPadded(n: number, width: number): string {
  const s = String(n);
  if (!Number.isInteger(n) || n < 0 || s.length > width)
    throw new RangeError(`${n} does not fit ${width} digits`);
  return s.padStart(width, "0");
}

/** The 512-byte metadata block. */
export function formatXleasesMetadata(md: XleasesMetadata): Buffer {
  const buf = Buffer.alloc(XLEASES_METADATA_SIZE);
  buf.writeInt32BE(XLEASES_INDEX_MAGIC, 0);
  buf.write(zeroPadded(md.version, 4), MD_VERSION, "ascii");
  checkName("lockspace", md.lockspace).copy(buf, MD_LOCKSPACE);
  buf.write(zeroPadded(md.mtime, 10), MD_MTIME, "ascii");
  buf[MD_UPDATING] = md.updating ? FLAG_UPDATING : FLAG_NONE;
  buf[MD_END] = NEWLINE;
  return buf;
}

/** One 64-byte record. */
export function formatXleaseRecord(r: XleaseRecord): Buffer {
  const buf = Buffer.alloc(XLEASES_RECORD_SIZE);
  checkName("lease id", r.resource, true).copy(buf, 0);
  buf.write(zeroPadded(r.offset, 11), REC_OFFSET, "ascii");
  buf[REC_UPDATING] = r.updating ? FLAG_UPDATING : FLAG_NONE;
  buf[REC_RESERVED] = FLAG_NONE;
  buf[REC_END] = NEWLINE;
  return buf;
}

const EMPTY_RECORD = formatXleaseRecord({ resource: "", offset: 0, updating: false });

/**
 * A freshly formatted index (XLEASES_INDEX_SIZE bytes): metadata for `lockspace`
 * (the domain UUID) and XLEASES_MAX_RECORDS free records.
 */
export function formatXleasesIndex(
  lockspace: string,
  mtime: number = Math.floor(Date.now() / 1000),
): Buffer {
  const buf = Buffer.alloc(XLEASES_INDEX_SIZE);
  formatXleasesMetadata({
    version: XLEASES_INDEX_VERSION,
    lockspace,
    mtime,
    updating: false,
  }).copy(buf, 0);
  for (let i = 0; i < XLEASES_MAX_RECORDS; i++)
    EMPTY_RECORD.copy(buf, XLEASES_METADATA_SIZE + i * XLEASES_RECORD_SIZE);
  return buf;
}

function cString(buf: Buffer, start: number, length: number): string {
  const field = buf.subarray(start, start + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? length : nul).toString("latin1");
}

/**
 * Parses the metadata block at the start of `buf` (at least 512 bytes). Throws
 * XleasesIndexError naming `file` on a short block, bad magic, unparsable or
 * unsupported version, bad mtime. The updating flag is returned, not refused.
 */
export function parseXleasesMetadata(buf: Buffer, file = "<buffer>"): XleasesMetadata {
  if (buf.length < XLEASES_METADATA_SIZE)
    throw new XleasesIndexError(
      file,
      `metadata block is ${buf.length} bytes, expected ${XLEASES_METADATA_SIZE}`,
    );
  const magic = buf.readInt32BE(0);
  if (magic !== XLEASES_INDEX_MAGIC)
    throw new XleasesIndexError(
      file,
      `invalid magic 0x${(magic >>> 0).toString(16)}, expected 0x${XLEASES_INDEX_MAGIC.toString(16)}`,
    );
  const versionText = buf.toString("latin1", MD_VERSION, MD_VERSION + 4);
  if (!/^\d{4}$/.test(versionText))
    throw new XleasesIndexError(file, `invalid version ${JSON.stringify(versionText)}`);
  const version = Number(versionText);
  if (version !== XLEASES_INDEX_VERSION)
    throw new XleasesIndexError(
      file,
      `unsupported version ${version} (this reader knows version ${XLEASES_INDEX_VERSION})`,
    );
  const mtimeText = buf.toString("latin1", MD_MTIME, MD_MTIME + 10);
  if (!/^\d{10}$/.test(mtimeText))
    throw new XleasesIndexError(file, `invalid mtime ${JSON.stringify(mtimeText)}`);
  return {
    version,
    lockspace: cString(buf, MD_LOCKSPACE, SANLOCK_NAME_MAX),
    mtime: Number(mtimeText),
    updating: buf[MD_UPDATING] === FLAG_UPDATING,
  };
}

function recordStart(recnum: number): number {
  return XLEASES_METADATA_SIZE + recnum * XLEASES_RECORD_SIZE;
}

function recordCount(indexBuf: Buffer): number {
  return Math.max(
    0,
    Math.min(
      XLEASES_MAX_RECORDS,
      Math.floor((indexBuf.length - XLEASES_METADATA_SIZE) / XLEASES_RECORD_SIZE),
    ),
  );
}

/** Record `recnum` of the index (its resource, the offset written there, its flag). */
export function readXleaseRecord(indexBuf: Buffer, recnum: number): XleaseRecord {
  if (!Number.isInteger(recnum) || recnum < 0 || recnum >= recordCount(indexBuf))
    throw new RangeError(`record ${recnum} is outside the index`);
  const start = recordStart(recnum);
  const offsetText = indexBuf.toString("latin1", start + REC_OFFSET, start + REC_OFFSET + 11);
  return {
    resource: cString(indexBuf, start, SANLOCK_NAME_MAX),
    offset: /^\d{11}$/.test(offsetText) ? Number(offsetText) : Number.NaN,
    updating: indexBuf[start + REC_UPDATING] === FLAG_UPDATING,
  };
}

/**
 * The number of the first record whose first 49 bytes are `leaseId` NUL-padded to 48
 * bytes plus the NUL separator, or null. Like VDSM's `find_record`, a record with the
 * updating flag is found too: a lookup must treat it as missing (lookupXlease does).
 */
export function findXlease(indexBuf: Buffer, leaseId: string): number | null {
  const key = Buffer.alloc(SANLOCK_NAME_MAX + 1);
  checkName("lease id", leaseId).copy(key, 0);
  const n = recordCount(indexBuf);
  for (let recnum = 0; recnum < n; recnum++) {
    const start = recordStart(recnum);
    if (indexBuf.compare(key, 0, key.length, start, start + key.length) === 0) return recnum;
  }
  return null;
}

/** The first free record (exactly the empty record's bytes), or null when the index is full. */
export function findFreeXleaseRecord(indexBuf: Buffer): number | null {
  const n = recordCount(indexBuf);
  for (let recnum = 0; recnum < n; recnum++) {
    const start = recordStart(recnum);
    if (
      indexBuf.compare(EMPTY_RECORD, 0, XLEASES_RECORD_SIZE, start, start + XLEASES_RECORD_SIZE) ===
      0
    )
      return recnum;
  }
  return null;
}

/** Offset in the xleases volume of the lease of record `recnum`. */
export function xleaseOffset(recnum: number, alignment: number = XLEASES_ALIGNMENT): number {
  return (XLEASES_RESERVED_SLOTS + recnum) * alignment;
}

/**
 * Resolves `leaseId` in an index read from `file` (pure): the lockspace from the
 * metadata, the offset from the record's position. Throws XleasesIndexError for an
 * unusable index (including the updating flag on the metadata), NoSuchXleaseError when
 * the id has no record or its record has the updating flag (a partial creation).
 */
export function resolveXlease(
  indexBuf: Buffer,
  leaseId: string,
  file: string,
  alignment: number = XLEASES_ALIGNMENT,
): XleaseInfo {
  const md = parseXleasesMetadata(indexBuf, file);
  if (md.updating)
    throw new XleasesIndexError(
      file,
      "the index is marked updating (an update was interrupted): it must be formatted or rebuilt",
    );
  if (indexBuf.length < XLEASES_INDEX_SIZE)
    throw new XleasesIndexError(
      file,
      `index is ${indexBuf.length} bytes, expected ${XLEASES_INDEX_SIZE}`,
    );
  const recnum = findXlease(indexBuf, leaseId);
  if (recnum === null) throw new NoSuchXleaseError(file, leaseId);
  if (readXleaseRecord(indexBuf, recnum).updating)
    throw new NoSuchXleaseError(
      file,
      leaseId,
      `its record ${recnum} is marked updating (a creation that did not finish)`,
    );
  return {
    lockspace: md.lockspace,
    resource: leaseId,
    path: file,
    offset: xleaseOffset(recnum, alignment),
  };
}

async function openForIndexRead(path: string): Promise<FileHandle> {
  try {
    return await open(path, constants.O_RDONLY | constants.O_DIRECT);
  } catch (e) {
    // filesystems without O_DIRECT (tmpfs) refuse it with EINVAL: read through the cache
    if ((e as NodeJS.ErrnoException).code !== "EINVAL") throw e;
    return await open(path, constants.O_RDONLY);
  }
}

/**
 * Reads the index (XLEASES_INDEX_SIZE bytes at slot 1) of the xleases volume `path`,
 * with O_DIRECT where the filesystem allows it, so another host's update is seen (the
 * size and offset are multiples of 4096); off the event loop (libuv's thread pool).
 */
export async function readXleasesIndex(
  path: string,
  alignment: number = XLEASES_ALIGNMENT,
): Promise<Buffer> {
  let fh: FileHandle;
  try {
    fh = await openForIndexRead(path);
  } catch (e) {
    throw new XleasesIndexError(path, `cannot open: ${(e as Error).message}`);
  }
  try {
    const buf = alignedBuffer(XLEASES_INDEX_SIZE);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, alignment + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got < buf.length)
      throw new XleasesIndexError(
        path,
        `truncated: read ${got} of ${XLEASES_INDEX_SIZE} bytes at offset ${alignment}`,
      );
    return buf;
  } catch (e) {
    if (e instanceof XleasesIndexError) throw e;
    throw new XleasesIndexError(path, `cannot read: ${(e as Error).message}`);
  } finally {
    await fh.close();
  }
}

/** Where the VM lease `leaseId` lives in the xleases volume `path` (see resolveXlease). */
export async function lookupXlease(
  path: string,
  leaseId: string,
  alignment: number = XLEASES_ALIGNMENT,
): Promise<XleaseInfo> {
  return resolveXlease(await readXleasesIndex(path, alignment), leaseId, path, alignment);
}

/** Writes a formatted, empty index into the xleases volume `path` (which must exist). */
export async function writeXleasesIndex(
  path: string,
  lockspace: string,
  alignment: number = XLEASES_ALIGNMENT,
): Promise<void> {
  const fh = await open(path, "r+");
  try {
    await fh.write(formatXleasesIndex(lockspace), 0, XLEASES_INDEX_SIZE, alignment);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Creates the sanlock resource of a new VM lease (default: `sanlock direct init -r`). */
export type XleaseResourceWriter = (
  lockspace: string,
  resource: string,
  path: string,
  offset: number,
) => Promise<void>;

/**
 * Adds VM lease `leaseId` to the xleases volume `path` as VDSM does: the first free
 * record (or the id's record left marked updating), the sanlock resource created at its
 * slot first, then the record written (its 512-byte block rewritten whole). Refuses an
 * id that already has a lease.
 */
export async function addXlease(
  path: string,
  leaseId: string,
  writeResource: XleaseResourceWriter = directInitResource,
  alignment: number = XLEASES_ALIGNMENT,
): Promise<XleaseInfo> {
  const index = await readXleasesIndex(path, alignment);
  const md = parseXleasesMetadata(index, path);
  if (md.updating)
    throw new XleasesIndexError(path, "the index is marked updating: format or rebuild it first");
  let recnum = findXlease(index, leaseId);
  if (recnum !== null && !readXleaseRecord(index, recnum).updating)
    throw new XleasesIndexError(path, `lease ${leaseId} exists (record ${recnum})`);
  recnum ??= findFreeXleaseRecord(index);
  if (recnum === null) throw new XleasesIndexError(path, `no free record for lease ${leaseId}`);
  const offset = xleaseOffset(recnum, alignment);
  await writeResource(md.lockspace, leaseId, path, offset);
  const start = recordStart(recnum);
  formatXleaseRecord({ resource: leaseId, offset, updating: false }).copy(index, start);
  const blockStart = start - (start % 512);
  const fh = await open(path, "r+");
  try {
    await fh.write(index, blockStart, 512, alignment + blockStart);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { lockspace: md.lockspace, resource: leaseId, path, offset };
}
