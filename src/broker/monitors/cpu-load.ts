import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "../../common/log.js";
import type { VmStateSource } from "./monitor.js";
import { PeriodicMonitor } from "./periodic.js";
import { busyRatio, type CpuTicks, clamp01, parseProcStat } from "./proc-stat.js";
import { pythonFixed4 } from "./python-str.js";

/**
 * The engine VM's cumulative cpu time at a sample, with the monotonic time (ns) its
 * answer arrived; absent, or unknown (hypervisor error).
 */
export type VmCpu =
  | { kind: "present"; ns: number; at: bigint }
  | { kind: "absent" }
  | { kind: "unknown" };

export interface Sample {
  ticks: CpuTicks;
  /** monotonic ns when /proc/stat was read */
  ticksAt: bigint;
  vm: VmCpu;
}

/** The figures behind the last value, for logs and tests. */
export interface CpuLoadBreakdown {
  total: number;
  engine: number;
  nonEngine: number;
}

export interface EngineVm {
  uuid: string;
  hypervisor?: VmStateSource;
}

/**
 * The engine VM's share of the host's CPU between two samples: its cpu-time delta over
 * elapsed time × CPUs. A VM that appeared in between counts from 0 (a new domain starts
 * at 0); unknown at either end counts as 0, as the original does when VDSM fails.
 */
export function engineShare(prev: Sample, cur: Sample): number {
  if (cur.vm.kind !== "present" || prev.vm.kind === "unknown") return 0;
  const earlier = prev.vm.kind === "present" && prev.vm.ns <= cur.vm.ns ? prev.vm : undefined;
  const before = earlier?.ns ?? 0;
  // a VM that appeared in between is measured over the whole window
  const since = earlier?.at ?? prev.ticksAt;
  const elapsedNs = Number(cur.vm.at - since);
  if (elapsedNs <= 0) return 0;
  return clamp01((cur.vm.ns - before) / (elapsedNs * cur.ticks.ncpus));
}

/**
 * `cpu-load` / `cpu-load-no-engine`: the host's busy ratio from /proc/stat deltas, minus
 * the engine VM's share for the no-engine type; "0.1234", clamped to [0, 1]. The first
 * value comes `sampleS` after the start, then one every `refreshS` over that window.
 */
export class CpuLoadMonitor extends PeriodicMonitor<number> {
  private prev: Sample | undefined;
  private breakdown: CpuLoadBreakdown | undefined;

  constructor(
    type: "cpu-load" | "cpu-load-no-engine",
    id: string,
    log: Logger,
    private readonly procRoot: string,
    private readonly sampleS: number,
    private readonly refreshS: number,
    private readonly engine?: EngineVm,
  ) {
    super(type, id, log, refreshS * 1000);
  }

  lastBreakdown(): CpuLoadBreakdown | undefined {
    return this.breakdown;
  }

  protected encode(v: number): string {
    return pythonFixed4(v);
  }

  protected override nextDelayMs(): number {
    return (this.breakdown === undefined ? this.sampleS : this.refreshS) * 1000;
  }

  protected async probe(): Promise<number | undefined> {
    const [[text, ticksAt], vm] = await Promise.all([this.readStat(), this.vmCpu()]);
    const cur: Sample = { ticks: parseProcStat(text), ticksAt, vm };
    const prev = this.prev;
    this.prev = cur;
    if (prev === undefined) return undefined;
    const total = clamp01(busyRatio(prev.ticks, cur.ticks));
    const engine = this.engine ? engineShare(prev, cur) : 0;
    const nonEngine = clamp01(total - engine);
    this.breakdown = { total, engine, nonEngine };
    this.log.debug(
      { total: total.toFixed(4), engine: engine.toFixed(4), non_engine: nonEngine.toFixed(4) },
      "System load",
    );
    return Number(pythonFixed4(nonEngine));
  }

  private async readStat(): Promise<[string, bigint]> {
    const text = await readFile(path.join(this.procRoot, "stat"), "utf8");
    return [text, process.hrtime.bigint()];
  }

  private async vmCpu(): Promise<VmCpu> {
    const e = this.engine;
    if (e === undefined) return { kind: "absent" };
    if (e.hypervisor === undefined) return { kind: "unknown" };
    try {
      const info = await e.hypervisor.domainState(e.uuid);
      if (info === null) return { kind: "absent" };
      this.throttled.reset("vm");
      return { kind: "present", ns: Number(info.cpuTimeNs), at: process.hrtime.bigint() };
    } catch (err) {
      this.throttled.warn("vm", { err, vm_uuid: e.uuid }, "cannot read the engine VM's cpu time");
      return { kind: "unknown" };
    }
  }
}
