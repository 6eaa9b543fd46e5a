import { readFile } from "node:fs/promises";
import path from "node:path";
import { resourceString } from "../../sanlock/names.js";
import { VOLUME_LEASE_OFFSET } from "../../storage/domain.js";
import { initStorageDomain } from "../../storage/init.js";
import { CliError, UsageError } from "../errors.js";

async function readOptional(file: string | undefined, what: string): Promise<string | undefined> {
  if (file === undefined) return undefined;
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    throw new CliError(`${what} ${file}: cannot read: ${(e as Error).message}`);
  }
}

/** Options of `he-ha storage init`, as commander parses them. */
export interface StorageInitOptions {
  domain: string;
  hostConf?: string;
  vmConf?: string;
  ovf?: string;
  ioTimeout: string;
  sdUuid?: string;
  json?: boolean;
}

/** `he-ha storage init`: creates the domain and prints the hosted-engine.conf lines. */
export async function storageInit(opts: StorageInitOptions): Promise<void> {
  const ioTimeout = Number(opts.ioTimeout);
  if (!Number.isInteger(ioTimeout) || ioTimeout < 1) {
    throw new UsageError(
      `--io-timeout "${opts.ioTimeout}" is not a positive whole number of seconds`,
    );
  }
  if (opts.vmConf === undefined && opts.ovf === undefined) {
    throw new UsageError("give --vm-conf or --ovf (the archive needs a vm.conf)");
  }
  const hostConf = await readOptional(opts.hostConf, "--host-conf");
  const vmConf = await readOptional(opts.vmConf, "--vm-conf");
  const ovf = await readOptional(opts.ovf, "--ovf");
  const result = await initStorageDomain({
    domain: opts.domain,
    ioTimeout,
    ...(hostConf !== undefined ? { hostConf } : {}),
    ...(vmConf !== undefined ? { vmConf } : {}),
    ...(ovf !== undefined ? { ovf } : {}),
    ...(opts.sdUuid !== undefined ? { sdUUID: opts.sdUuid } : {}),
  });
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ ...result, confLines: Object.fromEntries(result.confLines) })}\n`,
    );
    return;
  }
  const v = result.volumes;
  const d = result.engineDisk;
  let out = `# storage domain ${result.sdUUID} at ${result.domain} initialised (sanlock io_timeout ${result.ioTimeout}s)\n`;
  out += `# ids:         ${result.domMd.ids} (lockspace ${result.sdUUID})\n`;
  out += `# xleases:     ${result.domMd.xleases}\n`;
  out += `# metadata:    ${v.metadata.path}\n# lockspace:   ${v.lockspace.path}\n# conf:        ${v.conf.path}\n`;
  if (v.ovfStore) out += `# OVF_STORE:   ${v.ovfStore.path}\n`;
  out += `# engine disk: ${d.path}\n`;
  if (path.basename(result.domain) !== result.sdUUID)
    out += `# note: VDSM finds this domain at <mount>/${result.sdUUID}; this directory is named otherwise, so hosts need the domain_path line below\n`;
  out += `# engine VM lease: ${resourceString(result.sdUUID, d.volumeUUID, d.leasePath, VOLUME_LEASE_OFFSET)}\n`;
  out += "# hosted-engine.conf lines:\n";
  for (const [k, val] of result.confLines) out += `${k}=${val}\n`;
  process.stdout.write(out);
}
