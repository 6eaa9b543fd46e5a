import { type HostConfig, loadHostConfig } from "../../common/host-config.js";
import { haPaths } from "../../common/paths.js";
import type { VmListEntry } from "../../vdsm/api.js";
import { CliError } from "../errors.js";

/** The original's words (set_maintenance.py), so scripts and people recognise them. */
export const ENGINE_RUNS_HERE =
  "Unable to enter local maintenance mode: the engine VM is running on the current host, please migrate it before entering local maintenance mode.";

/** Pure: whether VDSM's Host.getVMList answer (ShortStatus entries, or uuids) lists `vmId`. */
export function vmListHas(list: readonly VmListEntry[], vmId: string): boolean {
  return list.some((e) => (typeof e === "string" ? e : e.vmId) === vmId);
}

/**
 * As hosted-engine --set-maintenance --mode=local on a VDSM host: refuses while VDSM
 * lists the engine VM (Host.getVMList, whatever its status), and when VDSM cannot be
 * asked. Hosts whose agent runs the VM through libvirt have no VDSM to ask: nothing to do.
 */
export async function refuseIfEngineRunsHere(): Promise<void> {
  const paths = haPaths();
  let conf: HostConfig;
  try {
    conf = await loadHostConfig(paths.hostConf);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const { vmBackendFor, localVdsmApi } = await import("../../vdsm/backend-choice.js");
  const choice = await vmBackendFor(conf, paths.root).catch((e: Error) => {
    throw new CliError(e.message);
  });
  if (choice.backend !== "vdsm" || !conf.vmId) return;
  const { silentLogger } = await import("../../common/log.js");
  const api = localVdsmApi(conf, paths.root, silentLogger);
  let list: VmListEntry[];
  try {
    list = await api.vmList();
  } catch (e) {
    throw new CliError(`Failed communicating with VDSM: ${(e as Error).message}`);
  } finally {
    api.client.close();
  }
  if (vmListHas(list, conf.vmId)) throw new CliError(ENGINE_RUNS_HERE);
}
