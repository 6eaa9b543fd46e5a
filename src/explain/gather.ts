import { readFile, stat } from "node:fs/promises";
import { readHaConf } from "../common/ha-conf.js";
import type { HaPaths } from "../common/paths.js";
import { parseVmConf } from "../storage/ovf/vmconf.js";

/** This host's own inputs of the next-step prediction that live in local files. */
export interface LocalFacts {
  /** ha.conf: local maintenance, either flag */
  localMaintenance: boolean;
  /** vm.conf's memSize (MB); null when there is no readable vm.conf yet */
  vmMemSizeMb: number | null;
}

/**
 * Only a regular file is opened: opening a FIFO or a device waits for a writer, and the
 * broker gathers these facts on its schedule (one stuck read a cycle would use up libuv's
 * threads), so anything else reads as absent. Checked with stat(), which opens nothing.
 */
async function isRegularFile(file: string): Promise<boolean> {
  return (await stat(file).catch(() => null))?.isFile() ?? false;
}

/**
 * Reads ha.conf and the agent's local copy of vm.conf. A missing or unreadable file is
 * not an error here (the explanation says what it could not know): no maintenance, no
 * memory requirement.
 */
export async function gatherLocalFacts(
  paths: Pick<HaPaths, "haConf" | "vmConf">,
): Promise<LocalFacts> {
  const ha = (await isRegularFile(paths.haConf))
    ? await readHaConf(paths.haConf).catch(() => null)
    : null;
  let vmMemSizeMb: number | null = null;
  try {
    if (!(await isRegularFile(paths.vmConf))) throw new Error("not a regular file");
    vmMemSizeMb = parseVmConf(await readFile(paths.vmConf, "utf8"), paths.vmConf).memSize;
  } catch {
    vmMemSizeMb = null;
  }
  return {
    localMaintenance: ha !== null && (ha.localMaintenance || ha.localMaintenanceManual),
    vmMemSizeMb,
  };
}
