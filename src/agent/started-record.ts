import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { STARTED_HERE_FILE } from "../broker/monitors/started-here.js";

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
