/**
 * sanlock areas for lab hosts and tests, initialised with `sanlock direct init`
 * (no daemon needed): a lockspace volume (1 MiB, delta leases at offset 0) and resource
 * lease files (oVirt's volume leases: `<volume>.lease`, the lease at offset 0). A short
 * I/O timeout makes joins take seconds: with io_timeout 1 a join takes about 3 s and a
 * dead host's leases can be taken after 8 s (+ sanlock's fixed 60 s).
 */
import { open } from "node:fs/promises";
import { directInitLockspace, directInitResource } from "../../src/sanlock/direct-init.js";
import { HE_LOCKSPACE, resourceString } from "../../src/sanlock/names.js";
import { runCommand } from "./processes.js";

const MiB = 1024 * 1024;

export interface LeaseVolumeOptions {
  /** lockspace name (default `hosted-engine`) */
  lockspace?: string;
  /** delta lease I/O timeout written to the lockspace, seconds (default 1) */
  ioTimeout?: number;
}

async function ensureSize(path: string, size: number): Promise<void> {
  const file = await open(path, "a");
  try {
    if ((await file.stat()).size < size) await file.truncate(size);
  } finally {
    await file.close();
  }
}

/** Creates (or re-initialises) a lockspace volume file: 1 MiB, sparse. */
export async function initLeaseVolume(path: string, opts: LeaseVolumeOptions = {}): Promise<void> {
  await ensureSize(path, MiB);
  await directInitLockspace(opts.lockspace ?? HE_LOCKSPACE, path, 0, opts.ioTimeout ?? 1);
}

/** Creates (or re-initialises) a resource lease at `offset` of `path` (a `.lease` file: 0). */
export async function initResourceLease(
  path: string,
  lockspace: string,
  resource: string,
  offset = 0,
): Promise<void> {
  await ensureSize(path, offset + MiB);
  await directInitResource(lockspace, resource, path, offset);
}

export interface DiskLeaseOwner {
  hostId: number;
  generation: number;
}

/**
 * A resource lease's owner as written on the storage (`sanlock direct read_leader`, no
 * daemon needed), or null when the lease is free. An owner that died keeps showing
 * until another host takes the lease over. For status views (the demo's "lease" column).
 */
export async function readLeaseOwnerFromDisk(lease: {
  lockspace: string;
  resource: string;
  path: string;
  offset: number;
}): Promise<DiskLeaseOwner | null> {
  const res = resourceString(lease.lockspace, lease.resource, lease.path, lease.offset);
  const { code, output } = await runCommand("sanlock", ["direct", "read_leader", "-r", res]);
  const field = (name: string) => output.match(new RegExp(`^${name} (\\d+)$`, "m"))?.[1];
  if (code !== 0 || field("timestamp") === undefined) {
    throw new Error(`sanlock direct read_leader -r ${res} failed (exit ${code}): ${output.trim()}`);
  }
  if (Number(field("timestamp")) === 0 || Number(field("owner_id")) === 0) return null;
  return { hostId: Number(field("owner_id")), generation: Number(field("owner_generation")) };
}
