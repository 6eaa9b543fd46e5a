import type { HostConfig } from "../../common/host-config.js";
import type { HaPaths } from "../../common/paths.js";
import type { StorageConnector } from "./connector.js";
import { MountConnector } from "./mount-connector.js";
import { connectionConf, mountPlan } from "./mount-plan.js";
import { PresetDomainConnector } from "./preset-connector.js";

export type {
  ConnectOutcome,
  DisconnectOutcome,
  StorageCheck,
  StorageConnector,
} from "./connector.js";
export { MountNotPermittedError, StorageConnectError } from "./errors.js";

/**
 * The connector of this host's hosted-engine.conf: `domain_path` set → checked only;
 * else mounted where VDSM would (throws StorageConnectError for block domains and
 * incomplete configurations).
 */
export function storageConnectorFor(conf: HostConfig, paths: HaPaths): StorageConnector {
  if (conf.domainPath) return new PresetDomainConnector(conf.domainPath, conf.sdUUID);
  return new MountConnector({
    plan: mountPlan(connectionConf(conf), paths.mountRoot),
    sdUUID: conf.sdUUID,
    stateDir: paths.runDir,
  });
}
