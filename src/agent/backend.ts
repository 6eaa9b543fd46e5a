import { access, readFile } from "node:fs/promises";
import path from "node:path";
import type { HostConfig } from "../common/host-config.js";
import type { Logger } from "../common/log.js";
import { haPaths } from "../common/paths.js";
import type { StorageConnector } from "../storage/connect/connector.js";
import { VdsmApi } from "../vdsm/api.js";
import { VdsmClient } from "../vdsm/json-rpc-client.js";
import { VdsmStorageConnector } from "../vdsm/storage-connector.js";
import { VdsmVm } from "../vdsm/vdsm-vm.js";
import { VDSM_PKI, VDSM_PORT } from "../vdsm/wire.js";
import type { VmPort } from "./ports.js";

/** Who runs the engine VM on this host. */
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
    return { backend: setting, why: `vm_backend=${setting}` };
  if (setting !== "auto")
    throw new VmBackendError(
      `vm_backend="${setting}" in hosted-engine.conf is not one of auto, vdsm, libvirt`,
    );
  return vdsmPki.present
    ? { backend: "vdsm", why: `VDSM's key and certificate found under ${vdsmPki.where}` }
    : { backend: "libvirt", why: `no VDSM key and certificate under ${vdsmPki.where}` };
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
 * The engine VM port through VDSM on localhost (`vdsm_port`, default 54321), with the
 * host's VDSM key, certificate and CA, read at each connect (a missing file fails the
 * connect naming it).
 */
export function vdsmVmPort(conf: HostConfig, root: string, log: Logger): VmPort {
  return new VdsmVm({
    vmId: conf.vmId,
    log,
    client: vdsmClientOptions(conf, root),
    runDir: haPaths(root).runDir,
  });
}

/** How to reach VDSM on this host: `vdsm_port` (default 54321) and its PKI files. */
function vdsmClientOptions(conf: HostConfig, root: string) {
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

/**
 * The storage domain connected through VDSM, as the original does on VDSM hosts (it
 * replaces the mount connector there; src/vdsm/storage-connector.ts).
 */
export function vdsmStorageConnector(
  conf: HostConfig,
  root: string,
  domainDir: string,
  log: Logger,
): StorageConnector {
  const api = new VdsmApi(new VdsmClient({ ...vdsmClientOptions(conf, root), log }));
  return new VdsmStorageConnector({ api, conf, domainDir, log });
}

/**
 * The VDSM port when `choice` is vdsm, else undefined (the caller builds the libvirt
 * one); logs the choice either way.
 */
export function vdsmPortIfChosen(
  choice: VmBackendChoice = LIBVIRT,
  conf: HostConfig,
  root: string,
  log: Logger,
): VmPort | undefined {
  log.info(
    { vm_backend: choice.backend, reason: choice.why },
    choice.backend === "vdsm"
      ? "engine VM backend: VDSM (JSON-RPC on localhost)"
      : "engine VM backend: libvirt",
  );
  return choice.backend === "vdsm" ? vdsmVmPort(conf, root, log) : undefined;
}
