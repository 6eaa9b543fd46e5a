import { mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { KillPath } from "../sanlock/vm-lease.js";

/**
 * What sanlock runs when this host loses its lockspace (storage gone) while it holds the
 * engine VM's lease: a script that destroys the engine VM here, so the VM is gone before
 * sanlock lets another host take the lease. Without it sanlock would only signal the
 * agent (the lease holder) and the VM would keep running: after the host-dead time
 * another host would start a second copy. sanlock limits the program and its arguments
 * to 128 characters each, and a libvirt URI can be longer, so the agent writes the
 * command into a script in its run directory and registers the script alone.
 */
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function killScriptPath(runDir: string): string {
  return path.join(runDir, "engine-vm-kill");
}

/** POSIX shell single-quoting. */
function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

export function killScriptText(libvirtUri: string, vmId: string, virsh = "virsh"): string {
  if (!UUID_RE.test(vmId)) throw new Error(`vmid "${vmId}" is not a UUID`);
  return [
    "#!/bin/sh",
    "# Written by ovirt-ha-agent: sanlock runs this when the host loses the hosted-engine",
    "# lockspace while holding the engine VM's lease. It destroys the engine VM here.",
    `exec ${virsh} -c ${shQuote(libvirtUri)} destroy ${vmId}`,
    "",
  ].join("\n");
}

/** Writes the script (atomically, mode 0700) and returns the kill path to register. */
export async function writeKillScript(
  runDir: string,
  libvirtUri: string,
  vmId: string,
): Promise<KillPath> {
  const file = killScriptPath(runDir);
  await mkdir(runDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, killScriptText(libvirtUri, vmId), { mode: 0o700 });
  await rename(tmp, file);
  return { path: file, args: [] };
}
