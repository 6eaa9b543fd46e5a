import type { HostTime } from "../../common/host-time.js";
import type { Logger } from "../../common/log.js";
import type { Timing } from "../../common/timing.js";
import type { VdsmHostSource } from "../../vdsm/host-stats-source.js";
import type { VdsmVmStatsSource } from "../../vdsm/vm-stats-source.js";
import type { LivelinessCheck } from "./liveliness.js";

/**
 * One running host monitor of behaviour.md §7. `value()` is the last value as the string
 * the original's `status_monitor` answered (`str()` of the Python value): "1.0", "True",
 * "12345", "0.1234", `{"vm": "up", ...}`; null before the first value (the API answers
 * "None"). `current()` is the same value typed, for the score code.
 */
export interface Monitor<T = unknown> {
  readonly type: string;
  readonly id: string;
  start(): void;
  /** Stops the schedule and waits for an in-flight probe (probes are bounded by timeouts). */
  stop(): Promise<void>;
  value(): string | null;
  current(): T | undefined;
}

/** libvirt's view of one domain, as src/libvirt/hypervisor.ts reports it. */
export interface DomainStateInfo {
  state: string;
  cpuTimeNs: number | bigint;
  memoryKiB?: number;
}

/**
 * What the VM-aware monitors need from the hypervisor: `HypervisorConnection` has this
 * shape. `null` = the hypervisor does not know the domain; a throw = cannot tell.
 */
export interface VmStateSource {
  domainState(uuid: string): Promise<DomainStateInfo | null>;
}

/**
 * What the agent records for engine-health on this host: that it started the VM here,
 * and a start refused on the VM lease (files of the run directory on a host,
 * `runDirRecords`; in memory in the simulator).
 */
export interface EngineRecords {
  startedHere(vmUuid: string): Promise<boolean>;
  /** the reason of a refused start while younger than START_FAILURE_TTL_MS */
  freshStartFailure(): Promise<string | undefined>;
}

export interface MonitorDeps {
  log: Logger;
  /** required by engine-health (unless vdsm); cpu-load-no-engine counts the VM's share as 0 without it */
  hypervisor?: VmStateSource;
  /** on VDSM hosts (the broker's backend choice): engine-health and cpu-load-no-engine ask VDSM's VM.getStats */
  vdsm?: VdsmVmStatsSource;
  /** on VDSM hosts: mem-free, mgmt-bridge and storage-domain ask VDSM (Host.getStats, getStorageRepoStats) */
  vdsmHost?: VdsmHostSource;
  /** default "/proc" */
  procRoot?: string;
  /** default "/sys" */
  sysRoot?: string;
  /** where the agent writes engine-start-failure.json; engine-health ignores the file without it */
  runDir?: string;
  /** the agent's records as engine-health reads them, instead of runDir's files (the simulator) */
  engineRecords?: EngineRecords;
  /** the engine's health page check (default HTTP, checkLiveliness) */
  liveliness?: LivelinessCheck;
  /** the host's clock and timers (default systemTime) */
  time?: HostTime;
  /**
   * whether another live host reports the engine VM up (the broker's whiteboard view):
   * a refused start recorded here is then stale news, and engine-health drops its
   * "Storage of VM is locked" reason
   */
  engineUpElsewhere?: () => boolean;
  /** cpu_load_sample and cpu_load_refresh (seconds); default DEFAULT_TIMING */
  timing?: Pick<Timing, "cpu_load_sample" | "cpu_load_refresh">;
  /**
   * seconds between probes of every monitor but the cpu ones (the broker passes
   * `[timing] monitor_interval`); default 10 (the original's). A probe that overruns it is
   * followed by the next at once, never overlapped.
   */
  intervalSeconds?: number;
  /** metadata and lockspace volume paths, required by storage-domain */
  storage?: { metadata: string; lockspace: string };
}

/** start_monitor with a type no monitor has. */
export class UnknownMonitorError extends Error {
  override name = "UnknownMonitorError";
  constructor(readonly monitorType: string) {
    super(`${monitorType} not a registered submonitor type`);
  }
}

/** start_monitor with a missing or malformed option (or a dependency the type needs). */
export class MonitorOptionError extends Error {
  override name = "MonitorOptionError";
  constructor(
    readonly monitorType: string,
    message: string,
  ) {
    super(`${monitorType}: ${message}`);
  }
}
