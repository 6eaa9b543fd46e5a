import type { HostConfig } from "../common/host-config.js";
import type { Logger } from "../common/log.js";
import { haPaths } from "../common/paths.js";
import type { StorageConnector } from "../storage/connect/connector.js";
import type { HaVolumes } from "../storage/domain.js";
import type { VdsmApi } from "../vdsm/api.js";
import { localVdsmApi } from "../vdsm/backend-choice.js";
import { VdsmStorageConnector } from "../vdsm/storage-connector.js";

export {
  chooseVmBackend,
  LIBVIRT,
  type VmBackend,
  type VmBackendChoice,
  VmBackendError,
  vdsmPkiPaths,
  vmBackendFor,
} from "../vdsm/backend-choice.js";

/**
 * The storage domain connected through VDSM, as the original does on VDSM hosts (it
 * replaces the mount connector there; src/vdsm/storage-connector.ts).
 */
export function vdsmStorageConnector(
  conf: HostConfig,
  root: string,
  volumes: HaVolumes,
  log: Logger,
  api: VdsmApi = localVdsmApi(conf, root, log),
): StorageConnector {
  return new VdsmStorageConnector({
    api,
    conf,
    volumes,
    mountRoot: haPaths(root).mountRoot,
    log,
  });
}
