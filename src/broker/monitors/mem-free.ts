import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "../../common/log.js";
import type { VdsmHostSource } from "../../vdsm/host-stats-source.js";
import { VdsmError } from "../../vdsm/json-rpc-client.js";
import { PeriodicMonitor } from "./periodic.js";
import { memFreeOf } from "./vdsm-host.js";

/** MemAvailable of a /proc/meminfo text, in whole MiB; throws when the line is missing. */
export function memAvailableMiB(meminfo: string): number {
  const m = /^MemAvailable:\s+(\d+)\s*kB/m.exec(meminfo);
  if (!m) throw new Error("/proc/meminfo has no MemAvailable line");
  return Math.floor(Number(m[1]) / 1024);
}

/**
 * `mem-free`: the host's available memory in MB, an integer string ("12345"); on VDSM
 * hosts VDSM's `memFree` of Host.getStats, as the original (a VDSM error: None; VDSM not
 * reachable: the last value stays).
 */
export class MemFreeMonitor extends PeriodicMonitor<number> {
  constructor(
    id: string,
    log: Logger,
    intervalMs: number,
    private readonly procRoot: string,
    private readonly vdsm?: VdsmHostSource,
  ) {
    super("mem-free", id, log, intervalMs);
  }

  protected encode(v: number): string {
    return String(v);
  }

  protected async probe(): Promise<number | undefined> {
    if (this.vdsm === undefined)
      return memAvailableMiB(await readFile(path.join(this.procRoot, "meminfo"), "utf8"));
    try {
      return memFreeOf(await this.vdsm.hostStats());
    } catch (err) {
      if (!(err instanceof VdsmError)) throw err;
      this.throttled.error("vdsm", { err }, "Host.getStats failed");
      this.clearValue();
      return undefined;
    }
  }
}
