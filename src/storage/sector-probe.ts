/**
 * Measuring sector sizes on a host without VDSM (on VDSM hosts, StorageDomain.getInfo
 * says; see sector-geometry.ts geometryFromVdsmDomainInfo):
 * - a block device: its logical sector size, what BLKSSZGET answers, read from
 *   /sys/dev/block/<major>:<minor>/queue/logical_block_size (a partition's from its disk);
 * - a file: an O_DIRECT read of 512 bytes at offset 0, which a 4K-sector filesystem
 *   refuses with EINVAL (then 4096 is checked the same way). Reads only, never writes.
 *   null when the filesystem has no O_DIRECT at all (tmpfs): nothing to measure.
 * All I/O is async (libuv's thread pool).
 */
import { constants } from "node:fs";
import { open, readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { alignedBuffer } from "./direct-io.js";

/** `/sys/dev/block/<major>:<minor>` of block device `dev`, resolved */
async function sysfsDir(dev: string): Promise<string> {
  const st = await stat(dev);
  if (!st.isBlockDevice()) throw new Error(`${dev} is not a block device`);
  const major = Math.floor(st.rdev / 256) & 0xfff;
  const minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
  return realpath(`/sys/dev/block/${major}:${minor}`);
}

/** The size of block device `dev` in bytes (sysfs `size` counts 512-byte units). */
export async function blockDeviceBytes(dev: string): Promise<number> {
  const text = await readFile(path.join(await sysfsDir(dev), "size"), "utf8");
  return Number(text.trim()) * 512;
}

/** The logical sector size of block device `dev` (BLKSSZGET's answer, through sysfs). */
export async function blockDeviceSectorSize(dev: string): Promise<number> {
  const sys = await sysfsDir(dev);
  for (const dir of [sys, path.dirname(sys)]) {
    try {
      const text = await readFile(path.join(dir, "queue", "logical_block_size"), "utf8");
      return Number(text.trim());
    } catch {
      // a partition has no queue/: its disk's is one level up
    }
  }
  throw new Error(`${dev}: no queue/logical_block_size under ${sys}`);
}

/**
 * The sector size I/O to `file` must respect: a block device's logical sector size, or
 * for a regular file the smallest O_DIRECT read its filesystem accepts (512 or 4096);
 * null when the filesystem refuses O_DIRECT altogether.
 */
export async function sectorSizeOf(file: string): Promise<number | null> {
  const st = await stat(file);
  if (st.isBlockDevice()) return blockDeviceSectorSize(file);
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_DIRECT);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EINVAL") return null;
    throw e;
  }
  try {
    const buf = alignedBuffer(4096);
    for (const size of [512, 4096]) {
      try {
        await fh.read(buf, 0, size, 0);
        return size;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EINVAL") throw e;
      }
    }
    return null;
  } finally {
    await fh.close();
  }
}

/** The size of a volume in bytes: a regular file's length, or a block device's capacity. */
export async function volumeBytes(file: string): Promise<number> {
  const st = await stat(file);
  return st.isBlockDevice() ? blockDeviceBytes(file) : st.size;
}
