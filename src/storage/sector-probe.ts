/**
 * Measuring sector sizes on a host without VDSM (on VDSM hosts, StorageDomain.getInfo
 * says; see common/sector-geometry.ts geometryFromVdsmDomainInfo):
 * - a block device: its logical sector size, what BLKSSZGET answers, read from
 *   /sys/dev/block/<major>:<minor>/queue/logical_block_size (a partition's from its disk);
 * - a file: the logical sector size of the block device its filesystem is on; null on
 *   filesystems without one (NFS, FUSE, tmpfs). Reads sysfs only, never the volume.
 * All I/O is async (libuv's thread pool).
 */
import { readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";

/** `<major>:<minor>` of a Linux dev_t */
function majorMinor(dev: number): string {
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | (Math.floor(dev / 4096) & 0xfff00);
  return `${major}:${minor}`;
}

/** `/sys/dev/block/<major>:<minor>` of block device `dev`, resolved */
async function sysfsDir(dev: string): Promise<string> {
  const st = await stat(dev);
  if (!st.isBlockDevice()) throw new Error(`${dev} is not a block device`);
  return realpath(`/sys/dev/block/${majorMinor(st.rdev)}`);
}

/** logical_block_size of a sysfs block directory (a partition's from its disk) */
async function sectorSizeAt(sys: string): Promise<number> {
  for (const dir of [sys, path.dirname(sys)]) {
    try {
      const text = await readFile(path.join(dir, "queue", "logical_block_size"), "utf8");
      return Number(text.trim());
    } catch {
      // a partition has no queue/: its disk's is one level up
    }
  }
  throw new Error(`no queue/logical_block_size under ${sys}`);
}

/** The logical sector size of block device `dev` (BLKSSZGET's answer, through sysfs). */
export async function blockDeviceSectorSize(dev: string): Promise<number> {
  return sectorSizeAt(await sysfsDir(dev));
}

/**
 * The sector size I/O to `file` must respect: a block device's logical sector size, or
 * for a regular file that of the block device its filesystem sits on (ext4 or XFS on a
 * LUN or a loop device). null when the filesystem has no block device of its own (NFS,
 * GlusterFS's FUSE mount, tmpfs): nothing is measured there, never guessed (an O_DIRECT
 * read probe would pass over a hole whatever the sector size, and a write probe would
 * write).
 */
export async function sectorSizeOf(file: string): Promise<number | null> {
  const st = await stat(file);
  if (st.isBlockDevice()) return blockDeviceSectorSize(file);
  try {
    return await sectorSizeAt(await realpath(`/sys/dev/block/${majorMinor(st.dev)}`));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}
