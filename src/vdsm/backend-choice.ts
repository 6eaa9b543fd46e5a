import { access, readFile } from "node:fs/promises";
import path from "node:path";
import { domainTypesOf, isBlockDomain } from "../common/domain-types.js";
import type { HostConfig } from "../common/host-config.js";
import type { Logger } from "../common/log.js";
import { VdsmApi } from "./api.js";
import { VdsmClient, type VdsmClientOptions } from "./json-rpc-client.js";
import { VDSM_PKI, VDSM_PORT } from "./wire.js";

/**
 * Which way this host runs and watches the engine VM: through VDSM or libvirt directly.
 * One choice for the agent (src/agent/backend.ts), the broker's engine-health monitor
 * (src/broker/daemon.ts) and the `he-ha vm|storage` commands.
 */
export type VmBackend = "vdsm" | "libvirt";

export interface VmBackendChoice {
  backend: VmBackend;
  why: string;
}

/** the backend when nothing chose one (tests, the demo) */
export const LIBVIRT: VmBackendChoice = { backend: "libvirt", why: "default" };

export class VmBackendError extends Error {
  override name = "VmBackendError";
}

/**
 * `vm_backend` in hosted-engine.conf (auto, vdsm, libvirt; default auto) and whether
 * this host carries VDSM's key and certificate → the backend. `auto` picks VDSM where it
 * is installed (every oVirt host), libvirt elsewhere.
 */
export function chooseVmBackend(
  conf: HostConfig,
  vdsmPki: { present: boolean; where: string },
): VmBackendChoice {
  const setting = conf.raw.get("vm_backend") || "auto";
  if (setting === "vdsm" || setting === "libvirt")
    return requireVdsmForBlock(conf, { backend: setting, why: `vm_backend=${setting}` });
  if (setting !== "auto")
    throw new VmBackendError(
      `vm_backend="${setting}" in hosted-engine.conf is not one of auto, vdsm, libvirt`,
    );
  const choice: VmBackendChoice = vdsmPki.present
    ? { backend: "vdsm", why: `VDSM's key and certificate found under ${vdsmPki.where}` }
    : { backend: "libvirt", why: `no VDSM key and certificate under ${vdsmPki.where}` };
  return requireVdsmForBlock(conf, choice);
}

/**
 * A block storage domain (iscsi, fc) is reached only through VDSM: its volumes are LVs
 * that VDSM activates and links (Image.prepare), behind an iSCSI login or FC LUNs and
 * multipath that VDSM sets up. Without VDSM: VmBackendError naming why.
 */
function requireVdsmForBlock(conf: HostConfig, choice: VmBackendChoice): VmBackendChoice {
  if (choice.backend === "vdsm" || !isBlockDomain(conf.domainType) || conf.domainPath)
    return choice;
  throw new VmBackendError(
    `domainType=${conf.domainType} is a block storage domain: its volumes are LVs that only VDSM connects and prepares (${conf.domainType === "iscsi" ? "iSCSI login, " : ""}multipath, LVM, Image.prepare), and this host does not use VDSM (${choice.why}); install and configure VDSM, or use a file domain (${domainTypesOf("file").join(", ")})`,
  );
}

/** VDSM's PKI files under `root` (see VDSM_PKI). */
export function vdsmPkiPaths(root: string): { key: string; cert: string; ca: string } {
  return {
    key: path.join(root, VDSM_PKI.key),
    cert: path.join(root, VDSM_PKI.cert),
    ca: path.join(root, VDSM_PKI.ca),
  };
}

/** chooseVmBackend for this host (files under `root`). */
export async function vmBackendFor(conf: HostConfig, root: string): Promise<VmBackendChoice> {
  const p = vdsmPkiPaths(root);
  const present = (
    await Promise.all(
      [p.key, p.cert, p.ca].map((f) =>
        access(f).then(
          () => true,
          () => false,
        ),
      ),
    )
  ).every(Boolean);
  return chooseVmBackend(conf, { present, where: path.join(root, "etc/pki/vdsm") });
}

/**
 * How to reach VDSM on this host: `vdsm_port` (default 54321) and its PKI files, read at
 * each connect (a missing file fails the connect naming it).
 */
export function vdsmClientOptions(conf: HostConfig, root: string): Omit<VdsmClientOptions, "log"> {
  const p = vdsmPkiPaths(root);
  const read = (f: string) =>
    readFile(f).catch((err: Error) => {
      throw new VmBackendError(`cannot read VDSM's ${path.basename(f)} at ${f}: ${err.message}`);
    });
  const port = Number(conf.raw.get("vdsm_port") || VDSM_PORT);
  const tls = async () => {
    const [key, cert, ca] = await Promise.all([read(p.key), read(p.cert), read(p.ca)]);
    return { key, cert, ca };
  };
  return { port, tls };
}

/** The VDSM verbs on this host's VDSM (connected on first call, reconnected after a drop). */
export function localVdsmApi(
  conf: HostConfig,
  root: string,
  log: Logger,
  over: Partial<VdsmClientOptions> = {},
): VdsmApi {
  return new VdsmApi(new VdsmClient({ ...vdsmClientOptions(conf, root), log, ...over }));
}
