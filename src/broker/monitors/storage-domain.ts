import { runBounded } from "../../common/bounded-command.js";
import { formatBool } from "../../common/keyvalue.js";
import type { Logger } from "../../common/log.js";
import type { VdsmHostSource } from "../../vdsm/host-stats-source.js";
import { VdsmError } from "../../vdsm/json-rpc-client.js";
import { PeriodicMonitor } from "./periodic.js";
import { domainValidOf } from "./vdsm-host.js";

/** The original's STORAGE_DELAY: a read slower than this makes the domain invalid. */
export const STORAGE_READ_TIMEOUT_S = 10;

export type VolumeReadResult = { ok: true } | { ok: false; why: string };

/**
 * Reads the first 4096 bytes of a volume with `dd iflag=direct` (as VDSM's domain
 * monitor measures its read delay), in a child process so a hung NFS read never holds
 * a libuv thread. File systems refusing O_DIRECT (tmpfs) are read without it.
 */
export async function readVolumeHead(
  volume: string,
  timeoutS: number,
  signal: AbortSignal,
  direct: boolean,
): Promise<VolumeReadResult & { directRefused?: boolean }> {
  const args = [`if=${volume}`, "of=/dev/null", "bs=4096", "count=1"];
  args.push(direct ? "iflag=direct,fullblock" : "iflag=fullblock");
  const r = await runBounded("dd", args, timeoutS * 1000, signal);
  if (r.code === null) {
    return { ok: false, why: signal.aborted ? "stopped" : `no answer within ${timeoutS} s` };
  }
  if (r.code === 0 && /^1\+0 records in/m.test(r.stderr)) return { ok: true };
  const why = r.stderr.split("\n")[0]?.trim() || `dd exited ${r.code}`;
  if (direct && /Invalid argument/.test(r.stderr)) return { ok: false, why, directRefused: true };
  return { ok: false, why: r.code === 0 ? "shorter than 4096 bytes" : why };
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
