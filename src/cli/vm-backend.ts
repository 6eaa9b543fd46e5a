import { domainTypeRule } from "../common/domain-types.js";
import { loadHostConfig } from "../common/host-config.js";
import { haPaths } from "../common/paths.js";
import { vmBackendFor } from "../vdsm/backend-choice.js";
import { describeConnection } from "../vdsm/host-storage.js";

/**
 * This host's engine VM backend as its agent chooses it (`vm_backend` and VDSM's files),
 * for `he-ha status --json` (`"vm-backend": {backend, reason}` and `"storage"` in this
 * host's entry);
 * undefined when hosted-engine.conf cannot be read or names no valid backend.
 */
export async function localVmBackend(): Promise<
  | {
      hostId: number;
      backend: string;
      reason: string;
      /** this host's storage domain: type, file or block, what is connected */
      storage: { domainType: string; kind: string; connection: string };
    }
  | undefined
> {
  const paths = haPaths();
  try {
    const conf = await loadHostConfig(paths.hostConf);
    const c = await vmBackendFor(conf, paths.root);
    const storage = {
      domainType: conf.domainType,
      kind: domainTypeRule(conf.domainType).kind,
      connection: describeConnection(conf),
    };
    return { hostId: conf.hostId, backend: c.backend, reason: c.why, storage };
  } catch {
    return undefined;
  }
}
