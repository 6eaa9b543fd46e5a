import { vmBackendFor } from "../agent/backend.js";
import { loadHostConfig } from "../common/host-config.js";
import { haPaths } from "../common/paths.js";

/**
 * This host's engine VM backend as its agent chooses it (`vm_backend` and VDSM's files),
 * for `he-ha status --json` (`vm_backend: {backend, reason}`); undefined when
 * hosted-engine.conf cannot be read or names no valid backend.
 */
export async function localVmBackend(): Promise<{ backend: string; reason: string } | undefined> {
  const paths = haPaths();
  try {
    const c = await vmBackendFor(await loadHostConfig(paths.hostConf), paths.root);
    return { backend: c.backend, reason: c.why };
  } catch {
    return undefined;
  }
}
