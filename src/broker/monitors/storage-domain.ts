import { formatBool } from "../../common/keyvalue.js";
import type { Logger } from "../../common/log.js";
import { bounded } from "../../storage/bounded-io.js";
import { IO_ALIGNMENT, readHead } from "../../storage/direct-io.js";
import type { VdsmHostSource } from "../../vdsm/host-stats-source.js";
import { VdsmError } from "../../vdsm/json-rpc-client.js";
import { PeriodicMonitor } from "./periodic.js";
import { domainValidOf } from "./vdsm-host.js";

/** The original's STORAGE_DELAY: a read slower than this makes the domain invalid. */
export const STORAGE_READ_TIMEOUT_S = 10;

export type VolumeReadResult = { ok: true } | { ok: false; why: string };

/**
 * Reads the first 4096 bytes of a volume with O_DIRECT, as VDSM's domain monitor measures
 * its read delay, in this process (storage/bounded-io.ts: no `dd` child; two spawns per
 * check were a third of the broker's CPU at 1 s loops). While a read that missed its
 * deadline (a dead NFS server) has not come back, the volume stays invalid and no second
 * read of it is started. File systems refusing O_DIRECT (procfs, tmpfs) answer
 * `directRefused`.
 */
export async function readVolumeHead(
  volume: string,
  timeoutS: number,
  signal: AbortSignal,
  direct: boolean,
): Promise<VolumeReadResult & { directRefused?: boolean }> {
  const key = `${direct ? "direct" : "buffered"}:${volume}`;
  const r = await bounded(key, timeoutS * 1000, signal, () => readHead(volume, direct));
  if (r.ok) {
    return r.value === IO_ALIGNMENT ? { ok: true } : { ok: false, why: "shorter than 4096 bytes" };
  }
  switch (r.why) {
    case "aborted":
      return { ok: false, why: "stopped" };
    case "timeout":
      return { ok: false, why: `no answer within ${timeoutS} s` };
    case "busy":
      return { ok: false, why: `an earlier read has not answered (over ${timeoutS} s)` };
    default: {
      const why = r.err.code ? `${r.err.code}: ${r.err.message}` : String(r.err.message);
      return {
        ok: false,
        why,
        ...(direct && r.err.code === "EINVAL" ? { directRefused: true } : {}),
      };
    }
  }
}

/**
 * `storage-domain`: "True" while both the metadata and the lockspace volume answer a
 * direct read of their first block within the timeout.
 */
export class StorageDomainMonitor extends PeriodicMonitor<boolean> {
  private readonly noDirect = new Set<string>();

  constructor(
    id: string,
    log: Logger,
    intervalMs: number,
    private readonly sdUuid: string,
    private readonly volumes: { metadata: string; lockspace: string },
    private readonly timeoutS: number,
    /**
     * on VDSM hosts: VDSM's domain monitor (Host.getStorageRepoStats), as the original; a
     * VDSM error reads false, VDSM not reachable keeps the last value
     */
    private readonly vdsm?: VdsmHostSource,
  ) {
    super("storage-domain", id, log, intervalMs);
  }

  protected encode(v: boolean): string {
    return formatBool(v);
  }

  protected async probe(signal: AbortSignal): Promise<boolean> {
    if (this.vdsm !== undefined) return this.probeVdsm(this.vdsm);
    const entries = Object.entries(this.volumes) as [string, string][];
    const results = await Promise.all(entries.map(([, p]) => this.read(p, signal)));
    const failed = entries
      .map(([name, p], i) => ({ name, path: p, r: results[i]! }))
      .filter((e) => !e.r.ok);
    if (failed.length === 0) {
      this.throttled.reset("invalid");
      return true;
    }
    this.throttled.warn(
      "invalid",
      {
        sd_uuid: this.sdUuid,
        volumes: failed.map((f) => ({ volume: f.name, path: f.path, why: f.r.ok ? "" : f.r.why })),
      },
      "Hosted-engine storage domain is in invalid state",
    );
    return false;
  }

  private async probeVdsm(vdsm: VdsmHostSource): Promise<boolean> {
    try {
      const valid = domainValidOf(
        await vdsm.storageRepoStats(this.sdUuid),
        this.sdUuid,
        STORAGE_READ_TIMEOUT_S,
      );
      if (valid) this.throttled.reset("invalid");
      else
        this.throttled.warn(
          "invalid",
          { sd_uuid: this.sdUuid },
          "Hosted-engine storage domain is in invalid state (VDSM)",
        );
      return valid;
    } catch (err) {
      if (!(err instanceof VdsmError)) throw err;
      this.throttled.error(
        "vdsm",
        { err, sd_uuid: this.sdUuid },
        "Host.getStorageRepoStats failed",
      );
      return false;
    }
  }

  private async read(volume: string, signal: AbortSignal): Promise<VolumeReadResult> {
    const direct = !this.noDirect.has(volume);
    const r = await readVolumeHead(volume, this.timeoutS, signal, direct);
    if (r.ok || !r.directRefused) return r;
    this.noDirect.add(volume);
    return readVolumeHead(volume, this.timeoutS, signal, false);
  }
}
