/**
 * A domain's sector geometry in sanlock's terms: the ALIGN|SECTOR flag bits of
 * sanlk_lockspace / sanlk_resource, and the `-Z <sector> -A <align>M` options of
 * `sanlock direct init` (what python3-sanlock's `sector=` / `align=` and VDSM pass).
 * Without a geometry (undefined) nothing is added: sanlock reads the leader's own.
 */
import type { SectorGeometry } from "../common/sector-geometry.js";
import { SANLK_ALIGN_FLAGS, SANLK_SECTOR4K, SANLK_SECTOR512 } from "./native.js";

const MiB = 1024 * 1024;

/** SANLK_{LSF,RES}_ALIGN<n>M | SANLK_{LSF,RES}_SECTOR{512,4K} */
export function geometryFlags(g: SectorGeometry | undefined): number {
  if (g === undefined) return 0;
  const align = SANLK_ALIGN_FLAGS[(g.alignment / MiB) as keyof typeof SANLK_ALIGN_FLAGS];
  return align | (g.sectorSize === 4096 ? SANLK_SECTOR4K : SANLK_SECTOR512);
}

/** `-Z <sector size> -A <n>M` for `sanlock direct init` */
export function directInitGeometryArgs(g: SectorGeometry | undefined): string[] {
  if (g === undefined) return [];
  return ["-Z", String(g.sectorSize), "-A", `${g.alignment / MiB}M`];
}
