import type { HostConfig } from "../common/host-config.js";
import type { Logger } from "../common/log.js";
import { haPaths } from "../common/paths.js";
import type { StorageConnector } from "../storage/connect/connector.js";
import type { HaVolumes } from "../storage/domain.js";
import type { VdsmApi } from "../vdsm/api.js";
import {
  LIBVIRT,
  localVdsmApi,
  type VmBackendChoice,
  vdsmClientOptions,
} from "../vdsm/backend-choice.js";
import { VdsmStorageConnector } from "../vdsm/storage-connector.js";
import { VdsmVm } from "../vdsm/vdsm-vm.js";
import type { VmPort } from "./ports.js";

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
 * The engine VM port through VDSM on localhost (`vdsm_port`, default 54321), with the
 * host's VDSM key, certificate and CA, read at each connect (a missing file fails the
 * connect naming it).
 */
export function vdsmVmPort(conf: HostConfig, root: string, log: Logger): VmPort {
  return new VdsmVm({
    vmId: conf.vmId,
    log,
    client: vdsmClientOptions(conf, root),
    runDir: haPaths(root).runDir,
  });
}

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

/**
 * The VDSM port when `choice` is vdsm, else undefined (the caller builds the libvirt
 * one); logs the choice either way.
 */
export function vdsmPortIfChosen(
  choice: VmBackendChoice = LIBVIRT,
  conf: HostConfig,
  root: string,
  log: Logger,
): VmPort | undefined {
  log.info(
    { vm_backend: choice.backend, reason: choice.why },
    choice.backend === "vdsm"
      ? "engine VM backend: VDSM (JSON-RPC on localhost)"
      : "engine VM backend: libvirt",
  );
  return choice.backend === "vdsm" ? vdsmVmPort(conf, root, log) : undefined;
}
