/**
 * A lockspace volume for simulated hosts and tests: a file holding the `hosted-engine`
 * lockspace at offset 0 and the engine VM lease at 1 MiB, initialised with
 * `sanlock direct init` (no daemon needed). A short I/O timeout makes joins take
 * seconds: with io_timeout 1 a join takes about 3 s and a dead host's leases can be
 * taken after 8 s.
 */
import { open } from "node:fs/promises";
import { VM_LEASE_OFFSET } from "../sanlock/vm-lease.js";
import { runCommand } from "./processes.js";

export interface LeaseVolumeOptions {
  /** lockspace name (default `hosted-engine`) */
  lockspace?: string;
  /** engine VM uuid: initialises its lease at 1 MiB when given */
  vmId?: string;
  /** delta lease I/O timeout written to the lockspace, seconds (default 1) */
  ioTimeout?: number;
}

/** Creates (or re-initialises) the volume file; 2 MiB, sparse. */
export async function initLeaseVolume(path: string, opts: LeaseVolumeOptions = {}): Promise<void> {
  const lockspace = opts.lockspace ?? "hosted-engine";
  const file = await open(path, "a");
  try {
    const { size } = await file.stat();
    if (size < 2 * VM_LEASE_OFFSET) await file.truncate(2 * VM_LEASE_OFFSET);
  } finally {
    await file.close();
  }
  const escaped = path.replaceAll(":", "\\:");
  await direct(["init", "-o", String(opts.ioTimeout ?? 1), "-s", `${lockspace}:0:${escaped}:0`]);
  if (opts.vmId) {
    await direct(["init", "-r", `${lockspace}:${opts.vmId}:${escaped}:${VM_LEASE_OFFSET}`]);
  }
}

async function direct(args: string[]): Promise<void> {
  const { code, output } = await runCommand("sanlock", ["direct", ...args]);
  if (code !== 0 || !/init done 0/.test(output)) {
    throw new Error(`sanlock direct ${args.join(" ")} failed (exit ${code}): ${output.trim()}`);
  }
}

export interface DiskLeaseOwner {
  hostId: number;
  generation: number;
}

/**
 * The engine VM lease's owner as written on the volume (`sanlock direct read_leader`,
 * no daemon needed), or null when the lease is free. An owner that died keeps showing
 * until another host takes the lease over. For status views (the demo's "lease" column).
 */
export async function readLeaseOwnerFromDisk(
  path: string,
  vmId: string,
  lockspace = "hosted-engine",
): Promise<DiskLeaseOwner | null> {
  const res = `${lockspace}:${vmId}:${path.replaceAll(":", "\\:")}:${VM_LEASE_OFFSET}`;
  const { code, output } = await runCommand("sanlock", ["direct", "read_leader", "-r", res]);
  const field = (name: string) => output.match(new RegExp(`^${name} (\\d+)$`, "m"))?.[1];
  if (code !== 0 || field("timestamp") === undefined) {
    throw new Error(`sanlock direct read_leader -r ${res} failed (exit ${code}): ${output.trim()}`);
  }
  if (Number(field("timestamp")) === 0 || Number(field("owner_id")) === 0) return null;
  return { hostId: Number(field("owner_id")), generation: Number(field("owner_generation")) };
}
