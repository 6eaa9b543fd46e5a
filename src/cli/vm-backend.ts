import { loadHostConfig } from "../common/host-config.js";
import { haPaths } from "../common/paths.js";
import { vmBackendFor } from "../vdsm/backend-choice.js";

/**
 * This host's engine VM backend as its agent chooses it (`vm_backend` and VDSM's files),
 * for `he-ha status --json` (`"vm-backend": {backend, reason}` in this host's entry);
 * undefined when hosted-engine.conf cannot be read or names no valid backend.
 */
export async function localVmBackend(): Promise<
  { hostId: number; backend: string; reason: string } | undefined
> {
  const paths = haPaths();
  try {
    const conf = await loadHostConfig(paths.hostConf);
    const c = await vmBackendFor(conf, paths.root);
    return { hostId: conf.hostId, backend: c.backend, reason: c.why };
  } catch {
    return undefined;
  }
}
