import { createHash } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import { volumeBytes } from "../volume-size.js";
import { ArchiveError } from "./errors.js";
import { GzipError, gunzipFirstMember, isGzip } from "./gzip.js";
import { INPUT_LIMITS } from "./limits.js";
import { parseTar, type TarEntry, TarFormatError } from "./tar.js";

/** A tar archive read from the start of a volume (or plain file). */
export interface TarVolume {
  volume: string;
  entries: TarEntry[];
  /** the archive was gzip-compressed */
  compressed: boolean;
  /** bytes read from offset 0: the region the MD5 covers */
  regionLength: number;
  /** MD5 (hex) of those bytes, for compare-and-swap */
  md5: string;
}

export interface ReadTarOptions {
  /** first read size (default 64 KiB); doubled while the archive needs more */
  initialBytes?: number;
  /** never read more than this (default 64 MiB) */
  maxBytes?: number;
  /** largest size gzip data may expand to (default INPUT_LIMITS.ovfStoreDecompressed) */
  maxDecompressed?: number;
  /** largest member (default INPUT_LIMITS.member) */
  maxMember?: number;
}

const DEFAULT_INITIAL = 64 * 1024;
const DEFAULT_MAX = 64 * 1024 * 1024;

export function md5Hex(buf: Buffer): string {
  return createHash("md5").update(buf).digest("hex");
}

/** Reads up to `length` bytes from offset 0 (fewer when the file is shorter). */
export async function readRegion(volume: string, length: number): Promise<Buffer> {
  const fh = await openForReading(volume);
  try {
    const size = await volumeBytes(volume, await fh.stat());
    const want = Math.min(length, size);
    const buf = Buffer.alloc(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await fh.read(buf, got, want - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === want ? buf : buf.subarray(0, got);
  } catch (e) {
    throw new ArchiveError(volume, `cannot read: ${(e as Error).message}`);
  } finally {
    await fh.close();
  }
}

/** `volume` opened read-only; ArchiveError "cannot open" naming it. */
async function openForReading(volume: string): Promise<FileHandle> {
  try {
    return await open(volume, "r");
  } catch (e) {
    throw new ArchiveError(volume, `cannot open: ${(e as Error).message}`);
  }
}

async function volumeSize(volume: string): Promise<number> {
  const fh = await openForReading(volume);
  try {
    return await volumeBytes(volume, await fh.stat());
  } finally {
    await fh.close();
  }
}

/**
 * Reads the tar archive at offset 0 of `volume`, plain or gzip (detected by the magic
 * bytes), ignoring whatever follows the archive. Reads only as much as the archive needs.
 * Throws ArchiveError naming the volume and what is wrong (empty, truncated, corrupt).
 */
export async function readTarVolume(volume: string, opts: ReadTarOptions = {}): Promise<TarVolume> {
  const size = await volumeSize(volume);
  const limit = Math.min(size, opts.maxBytes ?? DEFAULT_MAX);
  if (size === 0) throw new ArchiveError(volume, "volume is empty: no archive");
  let length = Math.min(limit, opts.initialBytes ?? DEFAULT_INITIAL);
  while (true) {
    const region = await readRegion(volume, length);
    const compressed = isGzip(region);
    let tarBytes = region;
    if (compressed) {
      try {
        tarBytes = await gunzipFirstMember(
          region,
          opts.maxDecompressed ?? INPUT_LIMITS.ovfStoreDecompressed,
        );
      } catch (e) {
        if (e instanceof GzipError && e.truncated && region.length < limit) {
          length = Math.min(limit, length * 2);
          continue;
        }
        throw new ArchiveError(volume, (e as Error).message);
      }
    }
    try {
      const parsed = parseTar(tarBytes, opts.maxMember ?? INPUT_LIMITS.member);
      if (!compressed && !parsed.terminated && region.length < limit) {
        // the read ended exactly between members: the archive may go on
        length = Math.min(limit, length * 2);
        continue;
      }
      if (parsed.entries.length === 0) {
        throw new ArchiveError(
          volume,
          parsed.end === 0
            ? "no archive: the volume starts with a zero block"
            : "archive has no members",
        );
      }
      return {
        volume,
        entries: parsed.entries,
        compressed,
        regionLength: region.length,
        md5: md5Hex(region),
      };
    } catch (e) {
      if (!(e instanceof TarFormatError)) throw e;
      if (e.needBytes !== undefined && !compressed && region.length < limit) {
        length = Math.min(limit, Math.max(e.needBytes, length * 2));
        continue;
      }
      const what = e.needBytes !== undefined ? "archive is truncated" : "archive is corrupt";
      throw new ArchiveError(volume, `${what}${compressed ? " (inside gzip)" : ""}: ${e.message}`);
    }
  }
}

/** MD5 of the first `length` bytes of the volume, as readTarVolume computed it. */
export async function regionMd5(volume: string, length: number): Promise<string> {
  return md5Hex(await readRegion(volume, length));
}

/**
 * Writes `data` at offset 0 of the volume without truncating what follows (a volume is
 * larger than its archive); creates the file when missing. Flushed with fdatasync.
 */
export async function writeAtStart(volume: string, data: Buffer): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(volume, "r+").catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return open(volume, "w");
      throw e;
    });
  } catch (e) {
    throw new ArchiveError(volume, `cannot open for writing: ${(e as Error).message}`);
  }
  try {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await fh.write(data, done, data.length - done, done);
      done += bytesWritten;
    }
    await fh.datasync();
  } catch (e) {
    throw new ArchiveError(volume, `cannot write: ${(e as Error).message}`);
  } finally {
    await fh.close();
  }
}
