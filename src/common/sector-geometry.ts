/**
 * A storage domain's sector geometry, as sanlock knows it: the logical sector size of the
 * storage (512 or 4096 bytes) and the alignment of its lease slots (1, 2, 4 or 8 MiB).
 * VDSM keeps both per domain (`dom_md/metadata` BLOCK_SIZE and ALIGNMENT, sd.py) and
 * reports them in `StorageDomain.getInfo` (`block_size`, `alignment`, as the original's
 * storage_backends.py reads them); sanlock needs them for every lockspace and lease it
 * writes or joins (SANLK_*_SECTOR*, SANLK_*_ALIGN*; `sanlock direct init -Z -A`), and
 * O_DIRECT I/O on a 4K device must use 4096-byte aligned buffers, offsets and sizes.
 *
 * Pure: the one home of the geometry words and their rules. How a device's sector size
 * is measured lives in src/storage/sector-probe.ts, the sanlock flags in src/sanlock/sector-flags.ts.
 */

export const MiB = 1024 * 1024;

export type SectorSize = 512 | 4096;

export const SECTOR_SIZES: readonly SectorSize[] = [512, 4096];

/** sanlock's lease slot sizes (sanlock_admin.h; VDSM constants.py ALIGNMENT_*) */
export const ALIGNMENTS: readonly number[] = [MiB, 2 * MiB, 4 * MiB, 8 * MiB];

export interface SectorGeometry {
  readonly sectorSize: SectorSize;
  /** lease slot size in bytes: one of ALIGNMENTS */
  readonly alignment: number;
}

/** what a domain without BLOCK_SIZE/ALIGNMENT is (VDSM sd.py: older domains, 512 + 1 MiB) */
export const DEFAULT_GEOMETRY: SectorGeometry = Object.freeze({ sectorSize: 512, alignment: MiB });

/** A sector size or alignment sanlock cannot use; names where the values came from. */
export class SectorGeometryError extends Error {
  override name = "SectorGeometryError";
}

/**
 * A device's logical sector size differs from its domain's: sanlock would misread its
 * leases and O_DIRECT I/O sized for the domain would fail or tear. Names the device.
 */
export class SectorSizeMismatchError extends Error {
  override name = "SectorSizeMismatchError";
  constructor(
    readonly device: string,
    readonly deviceSectorSize: number,
    readonly domainSectorSize: number,
    readonly source: string,
  ) {
    super(
      `${device} has ${deviceSectorSize}-byte sectors but the storage domain uses ${domainSectorSize}-byte sectors (${source}): not touching it`,
    );
  }
}

/**
 * Validates a (sector size, alignment) pair as sanlock allows it (sanlock_admin.h: 512-byte
 * sectors only with 1 MiB alignment; 4K sectors with 1, 2, 4 or 8 MiB). `where` names the
 * source for the error.
 */
export function sectorGeometry(
  sectorSize: number,
  alignment: number,
  where: string,
): SectorGeometry {
  if (sectorSize !== 512 && sectorSize !== 4096)
    throw new SectorGeometryError(`${where}: sector size ${sectorSize} is not 512 or 4096`);
  if (!ALIGNMENTS.includes(alignment))
    throw new SectorGeometryError(
      `${where}: alignment ${alignment} is not 1, 2, 4 or 8 MiB (${ALIGNMENTS.join(", ")})`,
    );
  if (sectorSize === 512 && alignment !== MiB)
    throw new SectorGeometryError(
      `${where}: 512-byte sectors need 1 MiB alignment (sanlock), not ${alignment}`,
    );
  return { sectorSize, alignment };
}

/** how many host ids the lockspace holds with this geometry (sanlock_admin.h; VDSM HOSTS_*) */
export function maxHosts(g: SectorGeometry): number {
  return g.sectorSize === 512 ? 2000 : (g.alignment / MiB) * 250;
}

/** `4K/1M` style text for logs and status */
export function describeGeometry(g: SectorGeometry): string {
  return `${g.sectorSize === 4096 ? "4K" : "512"}/${g.alignment / MiB}M`;
}

/**
 * The geometry VDSM reports for a domain in `StorageDomain.getInfo`: `block_size` (as
 * the original reads it: missing is an error, "Failed fetching block_size") and
 * `alignment` (vdsm-api.yml, both added in 4.3.6; missing = 1 MiB, VDSM's default).
 */
export function geometryFromVdsmDomainInfo(info: unknown, sdUUID: string): SectorGeometry {
  const where = `StorageDomain.getInfo of ${sdUUID}`;
  if (typeof info !== "object" || info === null)
    throw new SectorGeometryError(`${where}: the answer is not an object`);
  const r = info as Record<string, unknown>;
  if (r.block_size === undefined)
    throw new SectorGeometryError(`${where}: no block_size (VDSM older than 4.3.6?)`);
  const blockSize = wholeNumber(r.block_size, `${where}: block_size`);
  const alignment =
    r.alignment === undefined ? MiB : wholeNumber(r.alignment, `${where}: alignment`);
  return sectorGeometry(blockSize, alignment, where);
}

/**
 * The geometry a domain's metadata declares (`BLOCK_SIZE`, `ALIGNMENT`; VDSM sd.py reads
 * them with the defaults 512 and 1 MiB for domains written before they existed).
 */
export function geometryFromDomainMetadata(
  fields: ReadonlyMap<string, string>,
  file: string,
): SectorGeometry {
  const bs = fields.get("BLOCK_SIZE");
  const al = fields.get("ALIGNMENT");
  const blockSize = bs === undefined || bs === "" ? 512 : wholeNumber(bs, `${file}: BLOCK_SIZE`);
  const alignment = al === undefined || al === "" ? MiB : wholeNumber(al, `${file}: ALIGNMENT`);
  return sectorGeometry(blockSize, alignment, file);
}

/** Throws SectorSizeMismatchError when a device's measured sector size is not the domain's. */
export function checkDeviceSectorSize(
  g: SectorGeometry,
  device: string,
  measured: number | null,
  source: string,
): void {
  // null: not measurable (a filesystem without O_DIRECT); nothing to compare
  if (measured === null || measured === g.sectorSize) return;
  throw new SectorSizeMismatchError(device, measured, g.sectorSize, source);
}

/** `--sector-size` of the CLI: 512, 4096 or 4K */
export function parseSectorSize(text: string): SectorSize {
  const t = text.trim().toLowerCase();
  const n = t === "4k" ? 4096 : Number(t);
  if (n !== 512 && n !== 4096)
    throw new SectorGeometryError(`sector size "${text}" is not 512 or 4096 (or 4K)`);
  return n;
}

/** `--alignment` of the CLI: 1M, 2M, 4M, 8M or the byte count */
export function parseAlignment(text: string): number {
  const m = /^([1248])\s*(m|mib)?$/i.exec(text.trim());
  const n = m ? Number(m[1]) * MiB : Number(text.trim());
  if (!ALIGNMENTS.includes(n))
    throw new SectorGeometryError(`alignment "${text}" is not 1M, 2M, 4M or 8M`);
  return n;
}

/** VDSM's volume lease slot on a block domain's `leases` LV: `(100 + slot) × alignment`. */
export const BLOCK_RESERVED_LEASES = 100;

/** The offset VDSM gives the volume lease of metadata slot `slot` (blockSD.volume_lease_offset). */
export function blockVolumeLeaseOffset(slot: number, g: SectorGeometry): number {
  if (!Number.isInteger(slot) || slot < 0)
    throw new SectorGeometryError(`metadata slot ${slot} is not a whole number ≥ 0`);
  return (BLOCK_RESERVED_LEASES + slot) * g.alignment;
}

function wholeNumber(v: unknown, where: string): number {
  const n =
    typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n))
    throw new SectorGeometryError(`${where} "${String(v)}" is not a whole number`);
  return n;
}
