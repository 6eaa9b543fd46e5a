import type { Logger } from "../common/log.js";
import type { LockspaceSpec } from "../sanlock/lockspace.js";
import { decodeSegments } from "../storage/whiteboard/snapshot.js";
import type { BrokerApi } from "./broker-link.js";
import type { LockspacePort } from "./ports.js";

export interface CleanupDeps {
  hostId: number;
  broker: BrokerApi;
  lockspace: LockspacePort;
  lockspaceSpec: LockspaceSpec;
  log: Logger;
  force: boolean;
  /** how long to wait for the broker to write the cleared segment (ms, default 30 s) */
  writeTimeoutMs?: number;
}

export interface CleanupResult {
  /** 0 = cleaned or nothing to clean, 1 = refused or failed */
  code: number;
  message: string;
}

/**
 * `ovirt-ha-agent --cleanup [--force]` (behaviour.md §11 for this host): erase this
 * host's whiteboard segment, only when its block says the agent stopped cleanly unless
 * forced. Joins the lockspace for the write (the broker writes only while it is held)
 * and leaves it afterwards.
 */
export async function cleanupMetadata(d: CleanupDeps): Promise<CleanupResult> {
  const stats = await d.broker.getStats();
  const raw = stats.get(d.hostId);
  if (raw === undefined)
    return { code: 0, message: `metadata segment of host ${d.hostId} is already empty` };
  const snapshot = decodeSegments(new Map([[d.hostId, raw]]));
  const block = snapshot.hosts.get(d.hostId);
  if (!d.force) {
    if (block === undefined) {
      const why = snapshot.errors[0]?.reason ?? "unreadable";
      return {
        code: 1,
        message: `metadata block of host ${d.hostId} has a wrong format (${why}); use --force to erase it`,
      };
    }
    if (!block.stopped) {
      return {
        code: 1,
        message: `cannot clean the metadata block of host ${d.hostId}: its agent did not stop cleanly (stopped=0); stop ovirt-ha-agent first or use --force`,
      };
    }
  }
  let joined = false;
  try {
    await d.lockspace.addLockspace(d.lockspaceSpec);
    joined = true;
  } catch (e) {
    if (!d.force)
      return {
        code: 1,
        message: `cannot join the sanlock lockspace to clean: ${(e as Error).message}`,
      };
    d.log.warn({ err: e as Error }, "force: going on without the sanlock lockspace");
  }
  try {
    await d.broker.putStats(d.hostId, Buffer.alloc(0));
    const deadline = Date.now() + (d.writeTimeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      if (!(await d.broker.getStats()).has(d.hostId)) {
        return { code: 0, message: `metadata segment of host ${d.hostId} erased` };
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return {
      code: 1,
      message: `the broker did not write the cleared segment of host ${d.hostId} in time`,
    };
  } finally {
    if (joined) {
      await d.lockspace.remLockspace(d.lockspaceSpec).catch((e: Error) => {
        d.log.warn({ err: e }, "cannot leave the sanlock lockspace");
      });
    }
  }
}
