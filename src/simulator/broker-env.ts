import type { StartFailureRecord } from "../agent/start-failure-record.js";
import type { BrokerEnv, Notifier } from "../broker/env.js";
import type { Monitor, MonitorDeps } from "../broker/monitors/monitor.js";
import { type MonitorSchedule, PeriodicMonitor } from "../broker/monitors/periodic.js";
import { createMonitor, monitorSchedule } from "../broker/monitors/registry.js";
import { startFailureReason } from "../broker/monitors/start-failure-reader.js";
import type { MetadataStore } from "../broker/storage-cycle.js";
import type { HostTime } from "../common/host-time.js";
import { formatBool } from "../common/keyvalue.js";
import type { Logger } from "../common/log.js";
import {
  isMonitorType,
  MONITOR_TABLE,
  type MonitorType,
  type ScenarioMonitor,
} from "../common/monitor-table.js";
import type { Timing } from "../common/timing.js";
import type { SimHypervisor } from "./hypervisor.js";
import type { SimWhiteboard } from "./whiteboard.js";

/** The values a scenario sets for one host's local monitors. */
export interface SimMonitors {
  /** network monitor ratio 0..1 */
  network: number;
  bridge: boolean;
  /** CPU load without the engine VM, 0..1 */
  cpu: number;
  /** free memory, MB */
  memory: number;
  /** storage-domain monitor */
  storage: boolean;
}

export const DEFAULT_MONITORS: Readonly<SimMonitors> = Object.freeze({
  network: 1,
  bridge: true,
  cpu: 0.1,
  memory: 16384,
  storage: true,
});

/**
 * The agent's start-failure record of one host, in memory: the agent's EngineVm writes
 * it, the broker's real engine-health monitor reads it through the broker's own rule
 * (startFailureReason: fresh for START_FAILURE_TTL_MS).
 */
export class SimStartFailure implements StartFailureRecord {
  private entry: { reason: string; at: number } | null = null;

  constructor(private readonly wallMs: () => number) {}

  async record(reason: string): Promise<void> {
    this.entry = { reason, at: this.wallMs() };
  }

  async clear(): Promise<void> {
    this.entry = null;
  }

  fresh(): string | undefined {
    return this.entry === null ? undefined : startFailureReason(this.entry, this.wallMs());
  }
}

export interface SimBrokerEnvDeps {
  hostId: number;
  time: HostTime;
  whiteboard: SimWhiteboard;
  hypervisor: SimHypervisor;
  monitors: SimMonitors;
  startFailure: SimStartFailure;
  /** the host reaches the shared storage */
  storageOk: () => boolean;
  /** the host holds its id in the hosted-engine lockspace */
  holdsHostId: () => boolean;
  /** agent.conf [timing]: monitor_interval, cpu_load_sample and cpu_load_refresh schedule the monitors */
  timing: Timing;
  log: Logger;
}

/** An I/O error as the host's O_DIRECT read or write reports it. */
class SimIoError extends Error {
  override name = "SimIoError";
  readonly code = "EIO";
}

/**
 * The broker's environment on a simulated host (src/broker/env.ts): the cluster's virtual
 * time, the shared in-memory whiteboard (EIO while the host has lost its storage), the
 * sanlock model, and monitors, by the monitor table's `sim` column: engine-health is the
 * real monitor (its probe, schedule and mapping) over the simulated hypervisor, the
 * agent's in-memory start-failure record and the simulated engine's health page; the
 * others answer, on the real monitor schedule (monitorSchedule: cpu-load's first value
 * after cpu_load_sample, then every cpu_load_refresh), the values the scenario set
 * (`set hostN network 0.5`, SCENARIO_VALUE).
 */
export function simBrokerEnv(d: SimBrokerEnvDeps): BrokerEnv {
  const store: MetadataStore = {
    path: "/sim/sd/metadata",
    async scanSegments(visit) {
      if (!d.storageOk()) throw new SimIoError("read: Input/output error");
      const segs = d.whiteboard.read();
      for (const [i, seg] of segs) visit(i, seg);
      return segs.size;
    },
    async writeSegment(index, data) {
      if (!d.storageOk()) throw new SimIoError("write: Input/output error");
      d.whiteboard.write(index, data);
    },
  };
  const notifier: Notifier = {
    // no mail server in a simulated cluster: every notification is dropped, as with no
    // smtp-server configured
    notify: async () => "ignored",
    stats: { sent: 0, failed: 0, suppressed: 0 },
  };
  const deps: MonitorDeps = {
    log: d.log,
    time: d.time,
    timing: d.timing,
    intervalSeconds: d.timing.monitor_interval,
    // storage-domain's options are checked by the real factory; its probe is the scenario's
    storage: { metadata: "/sim/sd/metadata", lockspace: "/sim/sd/lockspace" },
    hypervisor: {
      async domainState() {
        const st = d.hypervisor.domainState();
        return st === null ? null : { state: st, cpuTimeNs: 0 };
      },
    },
    engineRecords: {
      startedHere: async () => false,
      freshStartFailure: async () => d.startFailure.fresh(),
    },
    liveliness: async () =>
      d.hypervisor.engineAnswers() ? { ok: true } : { ok: false, why: "no answer (simulated)" },
  };
  return {
    time: d.time,
    store,
    lockspace: {
      holdsHostId: async () => d.holdsHostId(),
      reset: async () => {
        throw new Error("reset_lockspace is not simulated");
      },
    },
    monitors: (type, options) => {
      // an unknown type is refused by the real factory, as on a host
      if (!isMonitorType(type) || MONITOR_TABLE[type].sim === "real")
        return createMonitor(type, options, deps);
      const read = SCENARIO_VALUE[type as ScenarioMonitor];
      return simMonitor(type, options, deps, () => read(d));
    },
    notifier,
  };
}

/** What each monitor the scenario sets reads on a simulated host, as its wire string. */
const SCENARIO_VALUE: { [K in ScenarioMonitor]: (d: SimBrokerEnvDeps) => string } = {
  network: (d) => String(d.monitors.network),
  "mgmt-bridge": (d) => formatBool(d.monitors.bridge),
  "mem-free": (d) => String(d.monitors.memory),
  "cpu-load": (d) => d.monitors.cpu.toFixed(4),
  "cpu-load-no-engine": (d) => d.monitors.cpu.toFixed(4),
  "storage-domain": (d) => formatBool(d.monitors.storage && d.storageOk()),
};

/**
 * A monitor of `type` whose probe reads the scenario's value: the real factory checks the
 * type and its options first (an unknown type or a missing option is refused as on a host).
 */
function simMonitor(
  type: MonitorType,
  options: Record<string, string>,
  deps: MonitorDeps,
  read: () => string,
): Monitor {
  const real = createMonitor(type, options, deps);
  const schedule = monitorSchedule(type, deps);
  return new ScenarioValueMonitor(real.type, real.id, deps.log, schedule, deps.time, read);
}

class ScenarioValueMonitor extends PeriodicMonitor<string> {
  constructor(
    type: string,
    id: string,
    log: Logger,
    schedule: MonitorSchedule,
    time: HostTime | undefined,
    private readonly read: () => string,
  ) {
    super(type, id, log, schedule.intervalMs, { time, firstValueMs: schedule.firstValueMs });
  }

  protected async probe(): Promise<string> {
    return this.read();
  }

  protected encode(v: string): string {
    return v;
  }
}
