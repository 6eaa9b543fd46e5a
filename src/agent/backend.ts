import type { HostConfig } from "../common/host-config.js";
import type { Logger } from "../common/log.js";
import { haPaths } from "../common/paths.js";
import type { StorageConnector } from "../storage/connect/connector.js";
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
  domainDir: string,
  log: Logger,
): StorageConnector {
  return new VdsmStorageConnector({
    api: localVdsmApi(conf, root, log),
    conf,
    domainDir,
    mountRoot: haPaths(root).mountRoot,
    log,
  });
}
