/**
 * The sector geometry of this host's storage domain, resolved once before any sanlock
 * call or write touches the domain, and checked against every volume the daemons use:
 * - on VDSM hosts from `StorageDomain.getInfo` (`fromVdsm`, see
 *   common/sector-geometry.ts geometryFromVdsmDomainInfo);
 * - elsewhere from `dom_md/metadata` BLOCK_SIZE and ALIGNMENT (512/1M when absent, as
 *   VDSM reads an older domain). On a block-style domain laid out by `he-ha storage init`
 *   that file stands in for the VG tags VDSM keeps a block domain's metadata in.
 * Then each volume's measured sector size (sector-probe.ts) must be the domain's: a
 * mismatch is SectorSizeMismatchError naming the device, and the caller touches nothing.
 */
import { readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import {
  checkDeviceSectorSize,
  describeGeometry,
  geometryFromDomainMetadata,
  geometryFromVdsmDomainInfo,
  type SectorGeometry,
} from "../common/sector-geometry.js";
import { parseDomainMetadata } from "./domain-metadata.js";
import { sectorSizeOf } from "./sector-probe.js";

/**
 * The geometry `dom_md/metadata` declares (512/1M when the file has no such keys); null
 * when there is no such file (a bare HA layout, or storage not mounted yet) or it is not
 * a regular file (a block domain's metadata LV).
 */
export async function domainMetadataGeometry(metadataFile: string): Promise<SectorGeometry | null> {
  let text: string;
  try {
    // a block domain's metadata is an LV of slots (its keys live in VG tags), not this text
    if (!(await stat(metadataFile)).isFile()) return null;
    text = await readFile(metadataFile, "utf8");
  } catch (e) {
    if (isMissing(e)) return null;
    throw e;
  }
  return geometryFromDomainMetadata(parseDomainMetadata(text, metadataFile), metadataFile);
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

export interface DomainGeometryOptions {
  /** the domain's `dom_md/metadata` (hosts without VDSM) */
  metadataFile: string;
  /** the volumes whose sector size must be the domain's (ids, leases, HA volumes) */
  volumes: readonly string[];
  /**
   * on VDSM hosts: StorageDomain.getInfo's block_size and alignment; null when VDSM does
   * not know the domain (then `metadataFile` is read)
   */
  fromVdsm?: () => Promise<SectorGeometry | null>;
}

export class DomainGeometry {
  private value: SectorGeometry | undefined;

  constructor(private readonly opts: DomainGeometryOptions) {}

  /** the geometry once resolve() succeeded */
  get current(): SectorGeometry | undefined {
    return this.value;
  }

  /** where the geometry is read from, for logs and errors */
  get source(): string {
    return this.opts.fromVdsm ? "StorageDomain.getInfo" : this.opts.metadataFile;
  }

  /**
   * Reads the domain's geometry and checks every volume against it; remembers it once
   * it holds. Throws (SectorSizeMismatchError, SectorGeometryError, an I/O error) and
   * remembers nothing otherwise. null when the domain declares none (no metadata file:
   * a bare HA layout, or storage not there yet; read again next time): then sanlock
   * reads each leader's own geometry and nothing is compared. A volume that does not
   * exist is not measured (its absence is reported by whoever opens it).
   */
  async resolve(): Promise<SectorGeometry | null> {
    if (this.value) return this.value;
    const fromVdsm = this.opts.fromVdsm ? await this.opts.fromVdsm() : null;
    const g = fromVdsm ?? (await domainMetadataGeometry(this.opts.metadataFile));
    if (g === null) return null;
    const source = `${describeGeometry(g)} from ${fromVdsm ? this.source : this.opts.metadataFile}`;
    for (const v of this.opts.volumes) {
      let measured: number | null;
      try {
        measured = await sectorSizeOf(v);
      } catch (e) {
        if (isMissing(e)) continue;
        throw e;
      }
      const real = await realpath(v);
      checkDeviceSectorSize(g, real === v ? v : `${v} (${real})`, measured, source);
    }
    this.value = g;
    return g;
  }
}

/**
 * The storage domain's geometry as the agent and broker resolve it: from
 * `dom_md/metadata` (or `fromVdsm`, StorageDomain.getInfo, on VDSM hosts), checked
 * against the volumes they touch: the domain's `ids` and `leases` (siblings, in
 * `dom_md/` or `/dev/<sd>/`), the HA metadata and lockspace volumes.
 */
export function domainGeometryFor(
  volumes: { ids: string; metadata: string; lockspace: string },
  fromVdsm?: () => Promise<SectorGeometry | null>,
): DomainGeometry {
  const dir = path.dirname(volumes.ids);
  return new DomainGeometry({
    metadataFile: path.join(dir, "metadata"),
    volumes: [volumes.ids, path.join(dir, "leases"), volumes.metadata, volumes.lockspace],
    ...(fromVdsm ? { fromVdsm } : {}),
  });
}

/**
 * The geometry as VDSM reports it (`StorageDomain.getInfo` `block_size`, `alignment`,
 * as the original's storage_backends.py asks): for `domainGeometryFor` on VDSM hosts.
 */
export function geometryThroughVdsm(
  api: { storageDomainInfo(sdUUID: string): Promise<unknown> },
  sdUUID: string,
): () => Promise<SectorGeometry | null> {
  return async () => {
    let info: unknown;
    try {
      info = await api.storageDomainInfo(sdUUID);
    } catch (e) {
      // VDSM does not know the domain (not connected through it, domain_path): the
      // domain's own metadata says
      if ((e as { code?: unknown }).code === VDSM_DOMAIN_DOES_NOT_EXIST) return null;
      throw e;
    }
    return geometryFromVdsmDomainInfo(info, sdUUID);
  };
}

/** VDSM's StorageDomainDoesNotExist error code (storage/exception.py) */
const VDSM_DOMAIN_DOES_NOT_EXIST = 358;
