import { formatBool } from "../../common/keyvalue.js";
import type { Logger } from "../../common/log.js";
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
 * its read delay, in this process (storage/direct-io.ts readHead(): a thread pool read,
 * no `dd` child: two spawns per check were a third of the broker's CPU at 1 s loops). At
 * most one read per volume is outstanding: while one that missed its deadline (a dead NFS
 * server) has not come back, the volume stays invalid and no second read is started, so
 * a hung server holds at most one thread per volume. File systems refusing O_DIRECT
 * (procfs, tmpfs) answer `directRefused`.
 */
const outstanding = new Map<string, Promise<unknown>>();

export async function readVolumeHead(
  volume: string,
  timeoutS: number,
  signal: AbortSignal,
  direct: boolean,
): Promise<VolumeReadResult & { directRefused?: boolean }> {
  if (signal.aborted) return { ok: false, why: "stopped" };
  const key = `${direct ? "direct" : "buffered"}:${volume}`;
  if (outstanding.has(key)) {
    return { ok: false, why: `an earlier read has not answered (over ${timeoutS} s)` };
  }
  const read = readHead(volume, direct).then(
    (bytes) => ({ bytes }),
    (err: NodeJS.ErrnoException) => ({ err }),
  );
  outstanding.set(key, read);
  void read.finally(() => outstanding.delete(key));
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), timeoutS * 1000);
  });
  const onAbort = () => clearTimeout(timer);
  signal.addEventListener("abort", onAbort, { once: true });
  const r = await Promise.race([read, late]);
  clearTimeout(timer);
  signal.removeEventListener("abort", onAbort);
  if (r === "late") {
    return { ok: false, why: signal.aborted ? "stopped" : `no answer within ${timeoutS} s` };
  }
  if ("err" in r) {
    const why = r.err.code ? `${r.err.code}: ${r.err.message}` : String(r.err.message);
    return {
      ok: false,
      why,
      ...(direct && r.err.code === "EINVAL" ? { directRefused: true } : {}),
    };
  }
  return r.bytes === IO_ALIGNMENT ? { ok: true } : { ok: false, why: "shorter than 4096 bytes" };
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
