import type { Stats } from "node:fs";
import { readFile, stat } from "node:fs/promises";

/**
 * The size in bytes of a volume: a file's size, or a block device's (an LV, a loop
 * device standing in for one), whose `stat` size is 0: read from
 * `/sys/dev/block/<major>:<minor>/size` (512-byte sectors whatever the device's sector
 * size). Symbolic links (Image.prepare's run-directory links) are followed.
 */
export async function volumeBytes(volume: string, st?: Stats): Promise<number> {
  const s = st ?? (await stat(volume));
  if (!s.isBlockDevice()) return s.size;
  const sectors = await readFile(
    `/sys/dev/block/${devMajor(s.rdev)}:${devMinor(s.rdev)}/size`,
    "utf8",
  );
  return Number(sectors.trim()) * 512;
}

/** glibc's gnu_dev_major / gnu_dev_minor */
function devMajor(rdev: number): number {
  const r = BigInt(rdev);
  return Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn));
}

function devMinor(rdev: number): number {
  const r = BigInt(rdev);
  return Number((r & 0xffn) | ((r >> 12n) & ~0xffn));
}
