import { isMonitorType, type MonitorType } from "../../common/monitor-table.js";
import { DEFAULT_TIMING } from "../../common/timing.js";
import { CpuLoadMonitor } from "./cpu-load.js";
import { EngineHealthMonitor, runDirRecords } from "./engine-health.js";
import { engineHealthUrl } from "./liveliness.js";
import { MemFreeMonitor } from "./mem-free.js";
import { MgmtBridgeMonitor } from "./mgmt-bridge.js";
import {
  type Monitor,
  type MonitorDeps,
  MonitorOptionError,
  UnknownMonitorError,
} from "./monitor.js";
import { NetworkMonitor, networkSettings } from "./network.js";
import { MonitorOptions, type RawMonitorOptions } from "./options.js";
import type { MonitorSchedule } from "./periodic.js";
import { STORAGE_READ_TIMEOUT_S, StorageDomainMonitor } from "./storage-domain.js";

export { isMonitorType, MONITOR_TYPES, type MonitorType } from "../../common/monitor-table.js";

/** The original broker's probe interval (agent.conf `[timing] monitor_interval`). */
export const DEFAULT_MONITOR_INTERVAL_S = DEFAULT_TIMING.monitor_interval;

/**
 * When a monitor of `type` probes, on a host and in the simulator alike (the one home of
 * the schedules): cpu-load and cpu-load-no-engine sample at the start, give their first
 * value `cpu_load_sample` s later and a new one every `cpu_load_refresh` s (the
 * original's cpu_load submonitors); every other type gives a value at its first probe
 * and probes every `monitor_interval` (deps.intervalSeconds).
 */
export function monitorSchedule(
  type: MonitorType,
  deps: Pick<MonitorDeps, "timing" | "intervalSeconds">,
): MonitorSchedule {
  if (type === "cpu-load" || type === "cpu-load-no-engine") {
    const timing = deps.timing ?? DEFAULT_TIMING;
    return {
      intervalMs: timing.cpu_load_refresh * 1000,
      firstValueMs: timing.cpu_load_sample * 1000,
    };
  }
  return {
    intervalMs: (deps.intervalSeconds ?? DEFAULT_MONITOR_INTERVAL_S) * 1000,
    firstValueMs: 0,
  };
}

/** The original engine liveliness check's timeout. */
export const DEFAULT_HEALTH_TIMEOUT_S = 20;

/**
 * Builds (does not start) a monitor for `start_monitor(type, options)`. Options per type
 * (seconds unless said otherwise):
 * - network: addr, network_test (ping|dns|tcp|none, default ping), tcp_t_address,
 *   tcp_t_port, timeout 5, count 5, delay 0.5; dns_server, dns_port (default: resolv.conf)
 * - mgmt-bridge: bridge_name
 * - mem-free: none
 * - cpu-load: none; cpu-load-no-engine: vm_uuid (deps.vdsm on VDSM hosts, else
 *   deps.hypervisor, for the VM's share)
 * - engine-health: vm_uuid, fqdn, health_url (overrides the URL built from fqdn),
 *   health_timeout 20, hypervisor_timeout 10 (deps.vdsm on VDSM hosts, else deps.hypervisor)
 * - storage-domain: sd_uuid, timeout 10 (deps.vdsmHost on VDSM hosts, else deps.storage)
 * - mem-free and mgmt-bridge ask deps.vdsmHost (Host.getStats) on VDSM hosts
 * Its id is the type,
 * as in the original broker, where a second start of one type replaces the first.
 * Options not listed for a type (`address`, `use_ssl`, ...) are ignored.
 * Throws UnknownMonitorError / MonitorOptionError.
 */
export function createMonitor(type: string, raw: RawMonitorOptions, deps: MonitorDeps): Monitor {
  if (!isMonitorType(type)) throw new UnknownMonitorError(type);
  const opts = new MonitorOptions(type, raw);
  const schedule = monitorSchedule(type, deps);
  const intervalMs = schedule.intervalMs;
  const procRoot = deps.procRoot ?? "/proc";
  const id = type;
  switch (type) {
    case "network":
      return new NetworkMonitor(id, deps.log, intervalMs, networkSettings(opts));
    case "mgmt-bridge":
      return new MgmtBridgeMonitor(
        id,
        deps.log,
        intervalMs,
        deps.sysRoot ?? "/sys",
        opts.require("bridge_name"),
        deps.vdsmHost,
      );
    case "mem-free":
      return new MemFreeMonitor(id, deps.log, intervalMs, procRoot, deps.vdsmHost);
    case "cpu-load":
    case "cpu-load-no-engine": {
      const engine =
        type === "cpu-load-no-engine"
          ? { uuid: opts.require("vm_uuid"), hypervisor: deps.hypervisor, vdsm: deps.vdsm }
          : undefined;
      return new CpuLoadMonitor(type, id, deps.log, procRoot, schedule, engine, deps.time);
    }
    case "engine-health": {
      const vmUuid = opts.require("vm_uuid");
      if (deps.hypervisor === undefined && deps.vdsm === undefined) {
        throw new MonitorOptionError(type, "needs a hypervisor connection (libvirt_uri or VDSM)");
      }
      const fqdn = opts.get("fqdn");
      return new EngineHealthMonitor(id, deps.log, intervalMs, deps.hypervisor, {
        vmUuid,
        healthUrl:
          opts.get("health_url") ?? (fqdn !== undefined ? engineHealthUrl(fqdn) : undefined),
        healthTimeoutS: opts.number("health_timeout", DEFAULT_HEALTH_TIMEOUT_S, { min: 0.001 }),
        hypervisorTimeoutS: opts.number("hypervisor_timeout", 10, { min: 0.001 }),
        records: deps.engineRecords ?? (deps.runDir ? runDirRecords(deps.runDir) : undefined),
        liveliness: deps.liveliness,
        time: deps.time,
        engineUpElsewhere: deps.engineUpElsewhere,
        vdsm: deps.vdsm,
      });
    }
    case "storage-domain": {
      const sdUuid = opts.require("sd_uuid");
      if (deps.storage === undefined && deps.vdsmHost === undefined) {
        throw new MonitorOptionError(type, "needs the metadata and lockspace volume paths");
      }
      const timeoutS = opts.number("timeout", STORAGE_READ_TIMEOUT_S, { min: 0.001 });
      return new StorageDomainMonitor(
        id,
        deps.log,
        intervalMs,
        sdUuid,
        deps.storage ?? { metadata: "", lockspace: "" },
        timeoutS,
        deps.vdsmHost,
      );
    }
  }
}
