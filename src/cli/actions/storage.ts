import { readFile } from "node:fs/promises";
import path from "node:path";
import {
  describeGeometry,
  parseAlignment,
  parseSectorSize,
  type SectorGeometry,
  sectorGeometry,
} from "../../common/sector-geometry.js";
import { resourceString } from "../../sanlock/names.js";
import { type InitDevices, initStorageDomain } from "../../storage/init.js";
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
  sectorSize: string;
  alignment: string;
  device?: string[];
  sdUuid?: string;
  json?: boolean;
}

const DEVICE_AREAS: Record<string, keyof InitDevices> = {
  ids: "ids",
  leases: "leases",
  xleases: "xleases",
  "he-metadata": "heMetadata",
  "he-lockspace": "heLockspace",
};

/** `--device area=/dev/x` options as InitDevices; UsageError names a bad one. */
function parseDevices(list: string[] | undefined): InitDevices {
  const out: InitDevices = {};
  for (const item of list ?? []) {
    const eq = item.indexOf("=");
    const area = DEVICE_AREAS[item.slice(0, Math.max(eq, 0))];
    if (eq < 1 || area === undefined || item.slice(eq + 1) === "")
      throw new UsageError(
        `--device "${item}" is not <area>=<device> with area one of ${Object.keys(DEVICE_AREAS).join(", ")}`,
      );
    out[area] = item.slice(eq + 1);
  }
  return out;
}

function parseGeometry(opts: StorageInitOptions): SectorGeometry {
  try {
    return sectorGeometry(
      parseSectorSize(opts.sectorSize),
      parseAlignment(opts.alignment),
      "--sector-size/--alignment",
    );
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
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
  const geometry = parseGeometry(opts);
  const devices = parseDevices(opts.device);
  const hostConf = await readOptional(opts.hostConf, "--host-conf");
  const vmConf = await readOptional(opts.vmConf, "--vm-conf");
  const ovf = await readOptional(opts.ovf, "--ovf");
  const result = await initStorageDomain({
    domain: opts.domain,
    ioTimeout,
    geometry,
    devices,
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
  let out = `# storage domain ${result.sdUUID} at ${result.domain} initialised (sanlock io_timeout ${result.ioTimeout}s, sectors ${describeGeometry(result.geometry)})\n`;
  out += `# ids:         ${result.domMd.ids} (lockspace ${result.sdUUID})\n`;
  out += `# xleases:     ${result.domMd.xleases}\n`;
  out += `# metadata:    ${v.metadata.path}\n# lockspace:   ${v.lockspace.path}\n# conf:        ${v.conf.path}\n`;
  if (v.ovfStore) out += `# OVF_STORE:   ${v.ovfStore.path}\n`;
  out += `# engine disk: ${d.path}\n`;
  if (path.basename(result.domain) !== result.sdUUID)
    out += `# note: VDSM finds this domain at <mount>/${result.sdUUID}; this directory is named otherwise, so hosts need the domain_path line below\n`;
  out += `# engine VM lease: ${resourceString(result.sdUUID, d.volumeUUID, d.leasePath, d.leaseOffset)}\n`;
  out += "# hosted-engine.conf lines:\n";
  for (const [k, val] of result.confLines) out += `${k}=${val}\n`;
  process.stdout.write(out);
}
