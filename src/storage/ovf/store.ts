import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { findMember } from "../archive/conf-archive.js";
import { ArchiveError } from "../archive/errors.js";
import { readTarVolume } from "../archive/volume.js";
import { volumePath } from "../domain.js";
import { isOvfStoreDescription, parseVolumeMeta } from "../volume-meta.js";
import { ovfToVmConfOffThread } from "./off-thread.js";

/** A volume whose `.meta` DESCRIPTION marks it as the engine's OVF_STORE. */
export interface OvfStoreVolume {
  imageUUID: string;
  volumeUUID: string;
  path: string;
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new ArchiveError(dir, `cannot list: ${(e as Error).message}`);
  }
}

/**
 * Scans `<domain>/images/<img>/<vol>.meta` (VDSM file-domain volume metadata) for volumes
 * whose DESCRIPTION is JSON with "Disk Description": "OVF_STORE". Sorted by image, volume.
 * Unreadable `.meta` files are skipped.
 */
export async function findOvfStoreVolumes(domain: string): Promise<OvfStoreVolume[]> {
  const found: OvfStoreVolume[] = [];
  const images = path.join(domain, "images");
  for (const img of await listDir(images)) {
    for (const file of await listDir(path.join(images, img))) {
      if (!file.endsWith(".meta")) continue;
      const volumeUUID = file.slice(0, -".meta".length);
      let text: string;
      try {
        text = await readFile(path.join(images, img, file), "utf8");
      } catch {
        continue;
      }
      if (isOvfStoreDescription(parseVolumeMeta(text).get("DESCRIPTION") ?? "")) {
        found.push({ imageUUID: img, volumeUUID, path: volumePath(domain, img, volumeUUID) });
      }
    }
  }
  return found;
}

/** The text of `<vmId>.ovf` in an OVF_STORE volume (a tar at offset 0, plain or gzip). */
export async function readOvfFromStore(volume: string, vmId: string): Promise<string> {
  const tar = await readTarVolume(volume);
  const data = findMember(tar.entries, `${vmId}.ovf`);
  if (data === undefined) throw new ArchiveError(volume, `OVF_STORE has no member "${vmId}.ovf"`);
  return data.toString("utf8");
}

export interface OvfStoreVmConf {
  /** vm.conf text as the original generates it (no header) */
  vmConf: string;
  store: OvfStoreVolume;
}

/**
 * vm.conf for the engine VM from the domain's OVF_STORE volumes: the first store (in
 * findOvfStoreVolumes order) holding `<vmId>.ovf` that converts. Throws the last error
 * (ArchiveError or OvfError) when none does, or ArchiveError when there is no store.
 */
export async function vmConfFromOvfStore(domain: string, vmId: string): Promise<OvfStoreVmConf> {
  const stores = await findOvfStoreVolumes(domain);
  if (stores.length === 0)
    throw new ArchiveError(domain, "no OVF_STORE volume found in the storage domain");
  let lastError: unknown;
  for (const store of stores) {
    try {
      return {
        vmConf: await ovfToVmConfOffThread(await readOvfFromStore(store.path, vmId)),
        store,
      };
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}
