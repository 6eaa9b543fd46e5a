import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { START_FAILURE_FILE } from "../broker/monitors/start-failure-reader.js";

/** Reason reported when the engine VM lease is held elsewhere (behaviour.md §6). */
export const STORAGE_LOCKED_START_REASON =
  "Storage of VM is locked. Is another host already starting the VM?";

/**
 * Whether a libvirt start error is its sanlock lock manager refusing the VM's `<lease>`
 * (lease holder `libvirt`): held by another host, or by another process here.
 */
export function isLeaseRefusedByLibvirt(message: string): boolean {
  // the original's engine_health patterns of VDSM's exitMessage, too
  return /Failed to acquire lock|Is another process using the image/i.test(message);
}

/** Records a refused start for the broker's engine-health monitor: `{"reason","at"}`. */
export async function recordStartFailure(
  runDir: string,
  reason: string,
  atMs = Date.now(),
): Promise<void> {
  await mkdir(runDir, { recursive: true });
  const file = path.join(runDir, START_FAILURE_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ reason, at: atMs }));
  await rename(tmp, file);
}

/** Forgets a recorded start failure (after a successful start). */
export async function clearStartFailure(runDir: string): Promise<void> {
  await rm(path.join(runDir, START_FAILURE_FILE), { force: true });
}

/** Where the agent records a refused start for the engine-health monitor (a file in production). */
export interface StartFailureRecord {
  record(reason: string): Promise<void>;
  clear(): Promise<void>;
}

/** The record as `<runDir>/engine-start-failure.json`, read by the broker's engine-health monitor. */
export function fileStartFailureRecord(runDir: string): StartFailureRecord {
  return {
    record: (reason) => recordStartFailure(runDir, reason),
    clear: () => clearStartFailure(runDir),
  };
}
