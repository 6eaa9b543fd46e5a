/**
 * The original broker's host monitors on VDSM hosts, as pure readings of VDSM's answers:
 * mem-free and mgmt-bridge from Host.getStats, storage-domain from
 * Host.getStorageRepoStats(domains=[sdUUID]).
 */

export class VdsmAnswerError extends Error {
  override name = "VdsmAnswerError";
}

/** mem_free.py: `str(stats['memFree'])` (MiB as VDSM counts it); throws without it. */
export function memFreeOf(hostStats: Record<string, unknown>): number {
  const v = Number(hostStats.memFree);
  if (hostStats.memFree === undefined || !Number.isFinite(v))
    throw new VdsmAnswerError(
      `Host.getStats has no memFree (${JSON.stringify(hostStats.memFree)})`,
    );
  return v;
}

/**
 * mgmt_bridge.py: the bridge is up when `network[bridge].state` is "up"; false when it is
 * missing or in another state; null (the original's None) when the answer has no network.
 */
export function bridgeUpOf(hostStats: Record<string, unknown>, bridge: string): boolean | null {
  const network = hostStats.network;
  if (typeof network !== "object" || network === null) return null;
  const nic = (network as Record<string, unknown>)[bridge];
  return typeof nic === "object" && nic !== null && (nic as { state?: unknown }).state === "up";
}

/**
 * storage_domain.py: valid and a delay ≤ `maxDelayS` (the original's STORAGE_DELAY,
 * STORAGE_READ_TIMEOUT_S here); anything else (or no entry) is false.
 */
export function domainValidOf(
  repoStats: Record<string, unknown>,
  sdUUID: string,
  maxDelayS: number,
): boolean {
  const d = repoStats[sdUUID] as { valid?: unknown; delay?: unknown } | undefined;
  if (typeof d !== "object" || d === null) return false;
  const delay = Number(d.delay);
  return d.valid === true && Number.isFinite(delay) && delay <= maxDelayS;
}
