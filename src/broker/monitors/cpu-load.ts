import { readFile } from "node:fs/promises";
import path from "node:path";
import type { HostTime } from "../../common/host-time.js";
import type { Logger } from "../../common/log.js";
import { VdsmUnavailableError } from "../../vdsm/json-rpc-client.js";
import type { VdsmVmStatsSource } from "../../vdsm/vm-stats-source.js";
import type { VmStateSource } from "./monitor.js";
import { type MonitorSchedule, PeriodicMonitor } from "./periodic.js";
import { busyRatio, type CpuTicks, clamp01, parseProcStat } from "./proc-stat.js";
import { pythonFixed4 } from "./python-str.js";
import {
  type CpuGate,
  gateNoEngineLoad,
  INITIAL_CPU_GATE,
  type VdsmCpuObservation,
  vdsmCpuObservation,
} from "./vdsm-cpu.js";

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
  hypervisor?: VmStateSource | undefined;
  /** on VDSM hosts: the VM's share from VM.getStats (vdsm-cpu.ts) instead of libvirt's cpu time */
  vdsm?: VdsmVmStatsSource | undefined;
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
 * probe samples, the first value comes `schedule.firstValueMs` later (cpu_load_sample),
 * then one every `schedule.intervalMs` (cpu_load_refresh) over that window.
 */
export class CpuLoadMonitor extends PeriodicMonitor<number> {
  private prev: Sample | undefined;
  private breakdown: CpuLoadBreakdown | undefined;
  private gate: CpuGate = INITIAL_CPU_GATE;

  constructor(
    type: "cpu-load" | "cpu-load-no-engine",
    id: string,
    log: Logger,
    private readonly procRoot: string,
    schedule: MonitorSchedule,
    private readonly engine?: EngineVm,
    time?: HostTime,
  ) {
    super(type, id, log, schedule.intervalMs, { firstValueMs: schedule.firstValueMs, time });
  }

  lastBreakdown(): CpuLoadBreakdown | undefined {
    return this.breakdown;
  }

  protected encode(v: number): string {
    return pythonFixed4(v);
  }

  protected async probe(): Promise<number | undefined> {
    const vdsm = this.engine?.vdsm;
    if (vdsm !== undefined) return this.probeVdsm(vdsm);
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

  /**
   * VDSM hosts: the host's busy ratio minus VDSM's cpuUser+cpuSys of the engine VM, gated
   * as the original (gateNoEngineLoad). VDSM unreachable: the probe fails and the value
   * stays, as the original's raising submonitor.
   */
  private async probeVdsm(vdsm: VdsmVmStatsSource): Promise<number | undefined> {
    const [text, ticksAt] = await this.readStat();
    const cur: Sample = { ticks: parseProcStat(text), ticksAt, vm: { kind: "absent" } };
    const prev = this.prev;
    this.prev = cur;
    if (prev === undefined) return undefined;
    const total = clamp01(busyRatio(prev.ticks, cur.ticks));
    const obs = await this.vdsmCpu(vdsm, cur.ticks.ncpus);
    const engine = obs.kind === "present" ? obs.share : 0;
    const nonEngine = clamp01(total - engine);
    this.gate = gateNoEngineLoad(this.gate, nonEngine, obs, Date.now());
    this.breakdown = { total, engine, nonEngine };
    this.log.debug(
      {
        total: total.toFixed(4),
        engine: engine.toFixed(4),
        non_engine: nonEngine.toFixed(4),
        cpu_data_is_real: obs.kind === "present" ? obs.real : undefined,
      },
      "System load",
    );
    return Number(pythonFixed4(this.gate.load));
  }

  private async vdsmCpu(vdsm: VdsmVmStatsSource, ncpus: number): Promise<VdsmCpuObservation> {
    const uuid = this.engine?.uuid ?? "";
    try {
      const stats = await vdsm.vmStats(uuid);
      this.throttled.reset("vm");
      return stats === null ? { kind: "absent" } : vdsmCpuObservation(stats, ncpus);
    } catch (err) {
      if (err instanceof VdsmUnavailableError) throw err;
      // another VDSM error: the original logs it and counts the VM as not here
      this.throttled.warn("vm", { err, vm_uuid: uuid }, "VM.getStats failed");
      return { kind: "absent" };
    }
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
