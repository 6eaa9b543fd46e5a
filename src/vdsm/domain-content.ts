/**
 * What a VDSM host learns about the storage domain's volumes from VDSM rather than from
 * a directory (which a block domain does not have): the OVF_STORE volumes, as the
 * original's lib/ovf/ovf_store.py finds them, and a volume's sanlock lease as
 * Volume.getInfo reports it (VDSM computes it: a `.lease` file on file domains, a slot
 * of the `leases` LV on block domains).
 */
import type { HostConfig } from "../common/host-config.js";
import type { Logger } from "../common/log.js";
import type { OvfStoreVolume } from "../storage/ovf/store.js";
import { isOvfStoreDescription } from "../storage/volume-meta.js";
import type { VdsmApi } from "./api.js";

export class VdsmVolumeError extends Error {
  override name = "VdsmVolumeError";
}

/**
 * ovf_store.OVFStore.scan: StorageDomain.getImages(sdUUID); for each image
 * StorageDomain.getVolumes; for each volume Volume.getInfo, and when its `description`
 * is the engine's OVF_STORE JSON, Image.prepare, whose `path` is where the tar is read.
 * VDSM's order is kept. (The original keeps the last store found; the caller here tries
 * each in turn, as the direct read does.)
 */
export async function findOvfStoresThroughVdsm(
  api: VdsmApi,
  conf: HostConfig,
  log: Logger,
): Promise<OvfStoreVolume[]> {
  const found: OvfStoreVolume[] = [];
  for (const img of await api.storageDomainImages(conf.sdUUID)) {
    for (const vol of await api.storageDomainVolumes(conf.spUUID, conf.sdUUID, img)) {
      const info = await api.volumeInfo(conf.spUUID, conf.sdUUID, img, vol);
      if (!isOvfStoreDescription(String(info.description ?? ""))) continue;
      log.info({ image: img, volume: vol }, `Found OVF_STORE: imgUUID:${img}, volUUID:${vol}`);
      const path = await api.prepareImage(conf.spUUID, conf.sdUUID, img, vol);
      found.push({ imageUUID: img, volumeUUID: vol, path });
    }
  }
  return found;
}

/**
 * The sanlock lease of a volume as VDSM reports it (Volume.getInfo `lease`: path and
 * offset; owners and version too). VdsmVolumeError naming the volume when VDSM reports
 * none or a malformed one: the engine disk's lease is never computed on a VDSM host.
 */
export async function volumeLeaseThroughVdsm(
  api: VdsmApi,
  conf: HostConfig,
  imageID: string,
  volumeID: string,
): Promise<{ path: string; offset: number }> {
  const info = await api.volumeInfo(conf.spUUID, conf.sdUUID, imageID, volumeID);
  const lease = info.lease;
  const where = `volume ${imageID}/${volumeID} of storage domain ${conf.sdUUID}`;
  if (lease === undefined || lease === null)
    throw new VdsmVolumeError(
      `VDSM's Volume.getInfo reports no lease for ${where}: the engine VM's volume lease cannot be located`,
    );
  if (
    typeof lease.path !== "string" ||
    lease.path === "" ||
    !Number.isSafeInteger(lease.offset) ||
    lease.offset < 0
  )
    throw new VdsmVolumeError(
      `VDSM's Volume.getInfo reports a malformed lease for ${where}: ${JSON.stringify(lease)}`,
    );
  return { path: lease.path, offset: lease.offset };
}
