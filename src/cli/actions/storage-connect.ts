import { HostConfigError, loadHostConfig } from "../../common/host-config.js";
import { haPaths } from "../../common/paths.js";
import { StorageConnectError, storageConnectorFor } from "../../storage/connect/index.js";
import { CliError } from "../errors.js";

async function connector() {
  const paths = haPaths();
  try {
    return storageConnectorFor(await loadHostConfig(paths.hostConf), paths);
  } catch (e) {
    if (e instanceof HostConfigError || e instanceof StorageConnectError)
      throw new CliError(e.message);
    throw e;
  }
}

const SAID = {
  "already-connected": "already connected (reused, not mounted again)",
  mounted: "mounted",
  remounted: "detached a mount that no longer answered and mounted it again",
  unmounted: "unmounted",
  "not-connected": "not connected: nothing to do",
  "not-ours": "not mounted by he-ha (VDSM, an admin, domain_path): left alone",
} as const;

/** `he-ha storage connect` [`hosted-engine --connect-storage`]. */
export async function storageConnect(opts: { json?: boolean }): Promise<void> {
  const c = await connector();
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
  const c = await connector();
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
