/**
 * A hosted-engine file storage domain laid out the way VDSM and the deployment lay one
 * out, by test/python/make_vdsm_domain.py (python3-sanlock + the standard library; none
 * of our storage code runs). For tests that must show our agent works on a domain our
 * code did not make.
 *
 * python3-sanlock writes through a sanlock daemon: pass the environment of one
 * (`SanlockDaemon.env`, i.e. with SANLOCK_RUN_DIR).
 */
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { removeDir, tempDir } from "../support/temp.js";

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
export const MAKE_VDSM_DOMAIN = path.join(here, "../python/make_vdsm_domain.py");

export interface VdsmDomainOptions {
  /** the directory to create (VDSM: `<mount>/<sdUUID>`); must not exist */
  domain: string;
  sdUUID: string;
  /** vm.conf text, stored in the configuration archive */
  vmConf: string;
  /** engine VM OVF text: an OVF_STORE volume holding `<vmId>.ovf` */
  ovf?: string;
  /** hosted-engine.conf keys for the archive's copy (fqdn, storage, domainType, ...) */
  hostConf?: Array<[string, string]>;
  /** sanlock io timeout of both lockspaces (default 10) */
  ioTimeout?: number;
  /** default: vm.conf's `type:disk, device:disk` device (shared exclusive first) */
  engineDisk?: { imageUUID: string; volumeUUID: string };
  /** bytes (default 1 MiB) */
  engineDiskSize?: number;
  /** bytes (default 1 GiB, the deployment's he_sanlock disk) */
  heLockspaceSize?: number;
  /** VM leases (key = VM uuid) added to dom_md/xleases as VDSM adds them */
  vmLeases?: string[];
  /** the archive's `version` member (default 2.5.3) */
  version?: string;
}

export interface VdsmVolume {
  imageUUID: string;
  volumeUUID: string;
  path: string;
}

export interface VdsmDomain {
  sdUUID: string;
  domain: string;
  volumes: {
    engineDisk: VdsmVolume;
    lockspace: VdsmVolume;
    metadata: VdsmVolume;
    conf: VdsmVolume;
    ovfStore?: VdsmVolume;
  };
  /** the VM leases in dom_md/xleases, where VDSM put them */
  xleases: Array<{ resource: string; offset: number }>;
  /** hosted-engine.conf keys the agent needs for this domain (also in the archive) */
  confLines: Array<[string, string]>;
}

/** Lays the domain out with /usr/bin/python3 (see make_vdsm_domain.py). */
export async function makeVdsmDomain(
  opts: VdsmDomainOptions,
  sanlockEnv: NodeJS.ProcessEnv,
): Promise<VdsmDomain> {
  const tmp = await tempDir("vdsm-spec");
  try {
    const spec = path.join(tmp, "spec.json");
    await writeFile(spec, JSON.stringify({ ...opts, ovf: opts.ovf ?? null }));
    const { stdout } = await run("/usr/bin/python3", [MAKE_VDSM_DOMAIN, spec], {
      env: sanlockEnv,
      maxBuffer: 16 * 1024 * 1024,
    });
    return JSON.parse(stdout) as VdsmDomain;
  } finally {
    await removeDir(tmp);
  }
}
