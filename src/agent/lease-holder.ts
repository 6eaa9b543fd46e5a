import { readFile } from "node:fs/promises";
import path from "node:path";
import type { HostConfig } from "../common/host-config.js";
import { isTestDriverUri } from "./libvirt-vm.js";

/**
 * Who takes the engine VM's sanlock lease before the VM runs:
 * - `agent`: the agent acquires it itself (persistent, adopted after an agent restart)
 *   and then starts the VM. For hypervisors without a lock manager, and the test driver.
 * - `libvirt`: libvirt's sanlock lock manager (`lock_manager = "sanlock"` in qemu.conf,
 *   as VDSM configures oVirt hosts) acquires the domain XML's `<lease>` for the qemu
 *   process as it starts; the lease lives and dies with qemu. The agent must not hold it
 *   too: sanlock refuses a second exclusive holder even on the same host.
 */
export type LeaseHolder = "agent" | "libvirt";

export interface LeaseHolderChoice {
  holder: LeaseHolder;
  /** why, for the start-up log */
  why: string;
  /**
   * holder `agent` chosen by `auto` on a QEMU connection: hand over to libvirt if its
   * lock manager turns out to be on after all (auto-lease.ts)
   */
  detect?: true;
}

/** The file libvirtd's QEMU driver reads its lock manager from, under `root`. */
export function qemuConfPath(root: string): string {
  return path.join(root, "etc/libvirt/qemu.conf");
}

/**
 * The `lock_manager` of a qemu.conf text (libvirt's config syntax: `key = "value"`,
 * `#` comments); the last assignment wins. undefined when unset.
 */
export function qemuLockManager(text: string): string | undefined {
  let found: string | undefined;
  for (const line of text.split("\n")) {
    const m = /^\s*lock_manager\s*=\s*"([^"]*)"\s*(#.*)?$/.exec(line);
    if (m) found = m[1];
  }
  return found;
}

/**
 * The lease holder from `vm_lease_holder` (auto, agent, libvirt), the libvirt URI and
 * the text of qemu.conf (undefined when it cannot be read). `auto` is `libvirt` exactly
 * when a QEMU connection's qemu.conf sets `lock_manager = "sanlock"`.
 */
export function chooseLeaseHolder(
  setting: HostConfig["vmLeaseHolder"],
  libvirtUri: string,
  qemuConf: string | undefined,
  qemuConfFile = "/etc/libvirt/qemu.conf",
): LeaseHolderChoice {
  if (setting !== "auto") return { holder: setting, why: `vm_lease_holder=${setting}` };
  if (isTestDriverUri(libvirtUri))
    return { holder: "agent", why: "libvirt's test driver has no lock manager" };
  if (qemuConf === undefined)
    return {
      holder: "agent",
      why: `${qemuConfFile} not readable; libvirt's lock manager, if on, will show at the first start`,
      detect: true,
    };
  const manager = qemuLockManager(qemuConf);
  if (manager === "sanlock")
    return { holder: "libvirt", why: `lock_manager = "sanlock" in ${qemuConfFile}` };
  return {
    holder: "agent",
    why: `lock_manager ${manager === undefined ? "unset" : `= "${manager}"`} in ${qemuConfFile}`,
    detect: true,
  };
}

/** chooseLeaseHolder with this host's qemu.conf (under `root`). */
export async function leaseHolderFor(
  hostConf: HostConfig,
  root: string,
): Promise<LeaseHolderChoice> {
  const file = qemuConfPath(root);
  const text =
    // no readable qemu.conf: chooseLeaseHolder says "no lock manager" and names the file
    hostConf.vmLeaseHolder === "auto" ? await readFile(file, "utf8").catch(() => undefined) : "";
  return chooseLeaseHolder(hostConf.vmLeaseHolder, hostConf.libvirtUri, text, file);
}
