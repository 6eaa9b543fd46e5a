import { type HostConfig, HostConfigError, loadHostConfig } from "../../common/host-config.js";
import { haPaths } from "../../common/paths.js";
import { StorageConnectError, storageConnectorFor } from "../../storage/connect/index.js";
import { CliError } from "../errors.js";

async function hostConf(): Promise<HostConfig> {
  try {
    return await loadHostConfig(haPaths().hostConf);
  } catch (e) {
    if (e instanceof HostConfigError) throw new CliError(e.message);
    throw e;
  }
}

async function connector(conf: HostConfig) {
  try {
    return storageConnectorFor(conf, haPaths());
  } catch (e) {
    if (e instanceof StorageConnectError) throw new CliError(e.message);
    throw e;
  }
}

/** Whether this host goes through VDSM (the agent's backend choice: src/vdsm/backend-choice.ts). */
async function throughVdsm(conf: HostConfig): Promise<boolean> {
  const { vmBackendFor } = await import("../../vdsm/backend-choice.js");
  try {
    return (await vmBackendFor(conf, haPaths().root)).backend === "vdsm";
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/**
 * On VDSM hosts, as `hosted-engine --connect-storage|--disconnect-storage` (the original's
 * storage_server.py): StoragePool.connectStorageServer then StorageDomain.getStats, or
 * StoragePool.disconnectStorageServer. VDSM mounts and unmounts.
 */
async function viaVdsm(conf: HostConfig, how: "connect" | "disconnect") {
  const { localVdsmApi } = await import("../../vdsm/backend-choice.js");
  const { connectStorageServer, describeConnection, disconnectStorageServer } = await import(
    "../../vdsm/host-storage.js"
  );
  const { silentLogger } = await import("../../common/log.js");
  const { haVolumes } = await import("../../storage/domain.js");
  const api = localVdsmApi(conf, haPaths().root, silentLogger);
  try {
    if (how === "connect") await connectStorageServer(api, conf, silentLogger, haPaths().mountRoot);
    else await disconnectStorageServer(api, conf, silentLogger);
  } catch (e) {
    throw new CliError(`cannot ${how} through VDSM: ${(e as Error).message}`);
  } finally {
    api.client.close();
  }
  return {
    description: `${conf.domainType} ${describeConnection(conf)} through VDSM`,
    domainDir: haVolumes(conf, haPaths()).domain,
  };
}

const SAID = {
  "already-connected": "already connected (reused, not mounted again)",
  mounted: "mounted",
  remounted: "detached a mount that no longer answered and mounted it again",
  unmounted: "unmounted",
  "not-connected": "not connected: nothing to do",
  "not-ours": "not mounted by he-ha (VDSM, an admin, domain_path): left alone",
  "vdsm-connected": "connected through VDSM (StoragePool.connectStorageServer)",
  "vdsm-disconnected": "disconnected through VDSM (StoragePool.disconnectStorageServer)",
} as const;

/** `he-ha storage connect` [`hosted-engine --connect-storage`]. */
export async function storageConnect(opts: { json?: boolean }): Promise<void> {
  const conf = await hostConf();
  if (await throughVdsm(conf)) {
    const v = await viaVdsm(conf, "connect");
    return report(opts, v.description, v.domainDir, "vdsm-connected");
  }
  const c = await connector(conf);
  let outcome: keyof typeof SAID;
  try {
    outcome = await c.connect({ remountUnreachable: true });
  } catch (e) {
    if (e instanceof StorageConnectError) throw new CliError(`cannot connect: ${e.message}`);
    throw e;
  }
  report(opts, c.description, c.domainDir, outcome);
}

/** `he-ha storage disconnect` [`hosted-engine --disconnect-storage`]. */
export async function storageDisconnect(opts: { json?: boolean }): Promise<void> {
  const conf = await hostConf();
  if (await throughVdsm(conf)) {
    const v = await viaVdsm(conf, "disconnect");
    return report(opts, v.description, v.domainDir, "vdsm-disconnected");
  }
  const c = await connector(conf);
  let outcome: keyof typeof SAID;
  try {
    outcome = await c.disconnect();
  } catch (e) {
    if (e instanceof StorageConnectError)
      throw new CliError(
        `cannot disconnect: ${e.message} (stop ovirt-ha-agent first: sanlock holds the lockspace there)`,
      );
    throw e;
  }
  report(opts, c.description, c.domainDir, outcome);
}

function report(
  opts: { json?: boolean },
  what: string,
  domainDir: string,
  outcome: keyof typeof SAID,
): void {
  process.stdout.write(
    opts.json
      ? `${JSON.stringify({ storage: what, domain: domainDir, outcome })}\n`
      : `${what}: ${SAID[outcome]}\n`,
  );
}
