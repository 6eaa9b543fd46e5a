import { type HostTime, withTimeout } from "../../common/host-time.js";
import type { Logger } from "../../common/log.js";
import { startedHere } from "../../common/started-here.js";
import { pythonJson } from "../../storage/whiteboard/python-json.js";
import { VdsmUnavailableError } from "../../vdsm/json-rpc-client.js";
import type { VdsmVmStatsSource } from "../../vdsm/vm-stats-source.js";
import {
  decideEngineStatus,
  type EngineHealthStatus,
  needsLiveliness,
  type TrackedVm,
  type VmObservation,
  withStartRecord,
} from "./engine-status.js";
import { checkLiveliness, type LivelinessCheck } from "./liveliness.js";
import type { EngineRecords, VmStateSource } from "./monitor.js";
import { PeriodicMonitor } from "./periodic.js";
import { freshStartFailure } from "./start-failure-reader.js";

/** The records as the agent's files in `runDir`. */
export function runDirRecords(runDir: string): EngineRecords {
  return {
    startedHere: (vmUuid) => startedHere(runDir, vmUuid),
    freshStartFailure: () => freshStartFailure(runDir),
  };
}

export interface EngineHealthSettings {
  vmUuid: string;
  /** the health page URL; undefined when no fqdn was given (health is then always bad) */
  healthUrl: string | undefined;
  /** seconds for the health page to answer (the original's liveliness check: 20) */
  healthTimeoutS: number;
  /** seconds for the hypervisor to answer before the state counts as unknown */
  hypervisorTimeoutS: number;
  /** the agent's records; engine-health ignores them without */
  records: EngineRecords | undefined;
  /** the health page check (default checkLiveliness, HTTP) */
  liveliness?: LivelinessCheck | undefined;
  /** the host's timers (default systemTime) */
  time?: HostTime | undefined;
  /** true when another live host reports the engine VM up: a recorded refused start no longer applies */
  engineUpElsewhere?: (() => boolean) | undefined;
  /**
   * on VDSM hosts: the VM's state comes from VDSM's VM.getStats instead of libvirt, as in
   * the original (VDSM keeps a VM that died as a `Down` entry, so neither the agent's start
   * record nor its start-failure file is read)
   */
  vdsm?: VdsmVmStatsSource | undefined;
}

/** The value as the original's `json.dumps(dict)`: keys vm, health, detail[, reason]. */
export function engineStatusJson(s: EngineHealthStatus): string {
  const ordered: Record<string, string> = { vm: s.vm, health: s.health, detail: s.detail };
  if (s.reason !== undefined) ordered.reason = s.reason;
  return pythonJson(ordered);
}

/**
 * `engine-health`: the engine VM's state (libvirt's, or VDSM's VM.getStats on VDSM hosts)
 * mapped to behaviour.md §5, plus the HTTP liveliness check while it runs here. VDSM not
 * answering keeps the last value, as the original (its submonitor's action raises and
 * is retried on the next tick).
 */
export class EngineHealthMonitor extends PeriodicMonitor<EngineHealthStatus> {
  private tracked: TrackedVm = "down";

  constructor(
    id: string,
    log: Logger,
    intervalMs: number,
    /** libvirt; unused (may be undefined) when settings.vdsm is given */
    private readonly hypervisor: VmStateSource | undefined,
    private readonly settings: EngineHealthSettings,
  ) {
    super("engine-health", id, log, intervalMs, { time: settings.time });
  }

  protected encode(v: EngineHealthStatus): string {
    return engineStatusJson(v);
  }

  protected async probe(signal: AbortSignal): Promise<EngineHealthStatus | undefined> {
    const s = this.settings;
    const seen = s.vdsm !== undefined ? await this.observeVdsm(s.vdsm) : await this.observe();
    if (seen === undefined) return undefined;
    const obs =
      seen.kind === "missing" && s.records !== undefined && s.vdsm === undefined
        ? withStartRecord(seen, await s.records.startedHere(s.vmUuid))
        : seen;
    let liveliness = false;
    if (needsLiveliness(obs)) {
      if (s.healthUrl === undefined) {
        this.throttled.warn("liveliness", {}, "no engine fqdn: cannot check the engine's health");
      } else {
        const r = await (s.liveliness ?? checkLiveliness)(s.healthUrl, s.healthTimeoutS, signal);
        liveliness = r.ok;
        if (r.ok) this.throttled.reset("liveliness");
        else
          this.throttled.warn("liveliness", { url: s.healthUrl, why: r.why }, "bad health status");
      }
    }
    const lockFailure =
      s.records !== undefined &&
      s.vdsm === undefined &&
      !needsLiveliness(obs) &&
      s.engineUpElsewhere?.() !== true
        ? await s.records.freshStartFailure()
        : undefined;
    const d = decideEngineStatus(this.tracked, obs, lockFailure, liveliness);
    if (d.tracked !== this.tracked || d.status.vm !== this.current()?.vm) {
      this.log.info({ vm_uuid: s.vmUuid, ...d.status }, `engine VM: ${d.status.vm}`);
    }
    this.tracked = d.tracked;
    return d.status;
  }

  /**
   * VM.getStats: "no such VM" → missing; VDSM's other errors → unavailable ("failed to
   * getVmStats"); VDSM unreachable or silent → undefined (keep the last value).
   */
  private async observeVdsm(vdsm: VdsmVmStatsSource): Promise<VmObservation | undefined> {
    const { vmUuid } = this.settings;
    try {
      const stats = await this.bounded(vdsm.vmStats(vmUuid), "VDSM");
      this.throttled.reset("vdsm");
      return stats === null ? { kind: "missing" } : { kind: "vdsm", ...stats };
    } catch (err) {
      if (err instanceof VdsmUnavailableError || err instanceof HypervisorTimeout) {
        this.throttled.error("vdsm", { err, vm_uuid: vmUuid }, "cannot reach VDSM: value kept");
        return undefined;
      }
      this.throttled.error("vdsm", { err, vm_uuid: vmUuid }, "failed to getVmStats");
      return { kind: "unavailable" };
    }
  }

  /** `p`, or HypervisorTimeout after `hypervisor_timeout` seconds */
  private async bounded<T>(p: Promise<T>, who: string): Promise<T> {
    const { hypervisorTimeoutS } = this.settings;
    return withTimeout(
      this.time,
      p,
      hypervisorTimeoutS,
      () => new HypervisorTimeout(`${who} did not answer within ${hypervisorTimeoutS} s`),
    );
  }

  private async observe(): Promise<VmObservation> {
    const { vmUuid } = this.settings;
    try {
      if (this.hypervisor === undefined) throw new Error("no hypervisor connection");
      const info = await this.bounded(this.hypervisor.domainState(vmUuid), "hypervisor");
      this.throttled.reset("hypervisor");
      return info === null ? { kind: "missing" } : { kind: "state", state: info.state };
    } catch (err) {
      this.throttled.warn("hypervisor", { err, vm_uuid: vmUuid }, "failed to get the VM state");
      return { kind: "unavailable" };
    }
  }
}

class HypervisorTimeout extends Error {
  override name = "HypervisorTimeout";
}
