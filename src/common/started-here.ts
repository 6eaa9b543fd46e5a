import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * Written by the agent when it starts the engine VM on this host (`{"vm": uuid, "at": ms}`)
 * and removed when it stops the VM on purpose (shutdown, power off). It stands in for
 * VDSM's memory of its VMs: VDSM keeps a VM that died outside its control as a `Down`
 * entry, so the original's engine-health reads `down_unexpected` and the agent goes
 * straight to EngineUnexpectedlyDown. libvirt forgets a transient domain the moment it
 * dies; without this record the VM would read as `down_missing` ("migrated away?") and
 * the agent would first wait in EngineMaybeAway.
 */
export const STARTED_HERE_FILE = "engine-vm-started.json";

/** Whether the agent's record says it started `vmUuid` here and has not stopped it since. */
export async function startedHere(runDir: string, vmUuid: string): Promise<boolean> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(path.join(runDir, STARTED_HERE_FILE), "utf8"));
  } catch {
    return false;
  }
  return (
    typeof doc === "object" && doc !== null && (doc as { vm?: unknown }).vm === vmUuid.toLowerCase()
  );
}

/** Records that the agent started the engine VM here (see started-here.ts). */
export async function recordStartedHere(
  runDir: string,
  vmId: string,
  atMs = Date.now(),
): Promise<void> {
  await mkdir(runDir, { recursive: true });
  const file = path.join(runDir, STARTED_HERE_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ vm: vmId.toLowerCase(), at: atMs }));
  await rename(tmp, file);
}

/** Forgets it: the VM is being stopped on purpose. */
export async function clearStartedHere(runDir: string): Promise<void> {
  await rm(path.join(runDir, STARTED_HERE_FILE), { force: true });
}
