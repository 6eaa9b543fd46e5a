import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { type BuildInfo, buildInfo } from "../common/build-info.js";
import type { MonitorType } from "./monitors/registry.js";
import type { BrokerStatus } from "./status.js";

/**
 * How often nodejs_eventloop_lag_* samples the event loop, ms. prom-client's default of
 * 10 ms wakes an idle broker 100 times a second (0.4 % of a core measured, issue 3's
 * idle budget is 1 %); at 250 ms that is 0.02 %, and any stall longer than 250 ms still
 * shows in full in the max and percentiles.
 */
export const EVENT_LOOP_SAMPLE_MS = 250;

/**
 * prom-client's default gauges whose names end in `_total`, which Prometheus reserves
 * for counters (`promtool check metrics` rejects them). They are dropped; the same
 * figures remain as `sum(nodejs_active_handles)` etc. over the per-type gauges.
 */
export const DROPPED_DEFAULT_METRICS = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
] as const;

/** The monitor whose value is MiB; exported in bytes as ovirt_ha_memory_free_bytes. */
const MEM_FREE_TYPE: MonitorType = "mem-free";
const MIB = 1024 * 1024;

/**
 * Prometheus metrics of the broker (`ovirt_ha_` prefix). Every whiteboard, liveness,
 * monitor and lease figure is set from one BrokerStatus document at scrape time, so a
 * scrape equals the `/v1/status` taken at the same moment. Storage latencies are
 * histograms observed by the storage cycle as it runs; process metrics are prom-client's
 * defaults (process_*, nodejs_*).
 */
export class BrokerMetrics {
  readonly registry = new Registry();
  private readonly hostScore: Gauge;
  private readonly hostAlive: Gauge;
  private readonly hostTimestampChanging: Gauge;
  private readonly engineVmUp: Gauge;
  private readonly engineHealthGood: Gauge;
  private readonly localMaintenance: Gauge;
  private readonly agentStopped: Gauge;
  private readonly agentState: Gauge;
  private readonly globalMaintenance: Gauge;
  private readonly monitorValue: Gauge;
  private readonly monitorUp: Gauge;
  private readonly memoryFree: Gauge;
  private readonly lockspaceHeld: Gauge;
  private readonly decodeErrors: Gauge;
  private readonly lastReadOk: Gauge;
  private readonly lastReadAge: Gauge;
  private readonly storageStale: Gauge;
  private readonly volumeShort: Gauge;
  private readonly writesFailing: Gauge;
  private readonly storageErrors: Counter;
  private readonly writesRefused: Counter;
  private readonly localScore: Gauge;
  private readonly notificationsSent: Counter;
  private readonly notificationsFailed: Counter;
  private readonly notificationsSuppressed: Counter;
  /** totals already added to each counter (counter name + labels → total) */
  private readonly seen = new Map<string, number>();
  readonly readSeconds: Histogram;
  readonly writeSeconds: Histogram;

  constructor(opts: { defaultMetrics?: boolean; build?: BuildInfo } = {}) {
    const r = [this.registry];
    const build = opts.build ?? buildInfo();
    new Gauge({
      name: "ovirt_ha_build_info",
      help: "1, with this broker's version, commit and implementation in labels",
      labelNames: ["version", "commit", "implementation"],
      registers: r,
    }).set({ ...build }, 1);
    const host = ["host_id", "hostname"] as const;
    this.hostScore = new Gauge({
      name: "ovirt_ha_host_score",
      help: "Score published by each host",
      labelNames: host,
      registers: r,
    });
    this.hostAlive = new Gauge({
      name: "ovirt_ha_host_alive",
      help: "1 when the host is in the local agent's fresh list of live hosts",
      labelNames: host,
      registers: r,
    });
    this.hostTimestampChanging = new Gauge({
      name: "ovirt_ha_host_timestamp_changing",
      help: "1 when the host's block timestamp changed within host_alive_timeout (broker's clock)",
      labelNames: host,
      registers: r,
    });
    this.engineVmUp = new Gauge({
      name: "ovirt_ha_host_engine_vm_up",
      help: "1 when the host reports the engine VM up on it",
      labelNames: host,
      registers: r,
    });
    this.engineHealthGood = new Gauge({
      name: "ovirt_ha_host_engine_health_good",
      help: "1 when the host reports the engine's health page good",
      labelNames: host,
      registers: r,
    });
    this.localMaintenance = new Gauge({
      name: "ovirt_ha_host_local_maintenance",
      help: "1 when the host is in local maintenance",
      labelNames: host,
      registers: r,
    });
    this.agentStopped = new Gauge({
      name: "ovirt_ha_host_agent_stopped",
      help: "1 when the host's agent published that it stopped cleanly",
      labelNames: host,
      registers: r,
    });
    this.agentState = new Gauge({
      name: "ovirt_ha_host_agent_state",
      help: "The state each host's agent published (value 1, state in the label)",
      labelNames: [...host, "state"],
      registers: r,
    });
    this.globalMaintenance = new Gauge({
      name: "ovirt_ha_global_maintenance",
      help: "1 when the cluster is in global maintenance",
      registers: r,
    });
    this.localScore = new Gauge({
      name: "ovirt_ha_local_score",
      help: "This host's score as published in its own block (absent without one)",
      labelNames: ["host_id"],
      registers: r,
    });
    this.monitorValue = new Gauge({
      name: "ovirt_ha_monitor_value",
      help: "Last value of each local monitor without a unit: ratios 0..1 and True/False as 1/0 (engine-health: vm up 1/0); mem-free is ovirt_ha_memory_free_bytes",
      labelNames: ["monitor", "type"],
      registers: r,
    });
    this.memoryFree = new Gauge({
      name: "ovirt_ha_memory_free_bytes",
      help: "Available memory of this host in bytes, from the mem-free monitor (absent before its first value)",
      registers: r,
    });
    this.monitorUp = new Gauge({
      name: "ovirt_ha_monitor_has_value",
      help: "1 once a monitor has produced a value",
      labelNames: ["monitor", "type"],
      registers: r,
    });
    this.lockspaceHeld = new Gauge({
      name: "ovirt_ha_lockspace_held",
      help: "1 when this host holds its id in lockspace hosted-engine (last check; absent before one)",
      labelNames: ["host_id"],
      registers: r,
    });
    this.decodeErrors = new Gauge({
      name: "ovirt_ha_whiteboard_decode_errors",
      help: "Whiteboard blocks that could not be decoded, by kind",
      labelNames: ["kind"],
      registers: r,
    });
    this.lastReadOk = new Gauge({
      name: "ovirt_ha_storage_last_read_success_timestamp_seconds",
      help: "Unix time of the last successful whiteboard read (absent before one)",
      labelNames: ["volume"],
      registers: r,
    });
    this.lastReadAge = new Gauge({
      name: "ovirt_ha_storage_last_read_age_seconds",
      help: "Seconds since the last successful whiteboard read, monotonic clock (absent before one)",
      labelNames: ["volume"],
      registers: r,
    });
    this.storageStale = new Gauge({
      name: "ovirt_ha_storage_stale",
      help: "1 when the broker answers from a whiteboard read older than 3 storage cycles, or has none",
      labelNames: ["volume"],
      registers: r,
    });
    this.volumeShort = new Gauge({
      name: "ovirt_ha_storage_metadata_volume_short",
      help: "1 when the metadata volume is shorter than the whiteboard (2001 segments × 4096): neither read nor written",
      labelNames: ["volume"],
      registers: r,
    });
    this.writesFailing = new Gauge({
      name: "ovirt_ha_storage_writes_failing",
      help: "1 while queued whiteboard blocks cannot be written (the last attempt failed)",
      labelNames: ["volume"],
      registers: r,
    });
    this.storageErrors = new Counter({
      name: "ovirt_ha_storage_errors_total",
      help: "Whiteboard read and write failures since start",
      labelNames: ["operation"],
      registers: r,
    });
    this.writesRefused = new Counter({
      name: "ovirt_ha_storage_writes_refused_total",
      help: "Blocks of this host not written because the host did not hold its lockspace id",
      registers: r,
    });
    this.notificationsSent = new Counter({
      name: "ovirt_ha_notifications_sent_total",
      help: "Notification e-mails sent",
      registers: r,
    });
    this.notificationsFailed = new Counter({
      name: "ovirt_ha_notifications_failed_total",
      help: "Notification e-mails that failed",
      registers: r,
    });
    this.notificationsSuppressed = new Counter({
      name: "ovirt_ha_notifications_suppressed_total",
      help: "Notifications held back as repeats of one mailed less than repeat-interval ago",
      registers: r,
    });
    const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    this.readSeconds = new Histogram({
      name: "ovirt_ha_storage_read_duration_seconds",
      help: "Whiteboard read latency",
      buckets,
      registers: r,
    });
    this.writeSeconds = new Histogram({
      name: "ovirt_ha_storage_write_duration_seconds",
      help: "Whiteboard segment write latency",
      buckets,
      registers: r,
    });
    for (const operation of ["read", "write"]) this.storageErrors.inc({ operation }, 0);
    if (opts.defaultMetrics !== false) {
      collectDefaultMetrics({
        register: this.registry,
        eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
      });
      for (const name of DROPPED_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    }
  }

  /** Sets every status-derived figure from `status` and the notification counters. */
  update(
    status: BrokerStatus,
    notifications: { sent: number; failed: number; suppressed: number },
  ): void {
    for (const g of [
      this.hostScore,
      this.hostAlive,
      this.hostTimestampChanging,
      this.engineVmUp,
      this.engineHealthGood,
      this.localMaintenance,
      this.agentStopped,
      this.agentState,
      this.monitorValue,
      this.monitorUp,
      this.memoryFree,
      this.decodeErrors,
      this.lockspaceHeld,
      this.localScore,
      this.lastReadOk,
      this.lastReadAge,
      this.storageStale,
      this.volumeShort,
      this.writesFailing,
    ]) {
      g.reset();
    }
    for (const h of status.hosts) {
      const l = { host_id: String(h.host_id), hostname: h.hostname };
      this.hostScore.set(l, h.score);
      this.hostAlive.set(l, h.alive ? 1 : 0);
      this.hostTimestampChanging.set(l, h.timestamp_changing ? 1 : 0);
      this.engineVmUp.set(l, h.engine_status?.vm === "up" ? 1 : 0);
      this.engineHealthGood.set(l, h.engine_status?.health === "good" ? 1 : 0);
      this.localMaintenance.set(l, h.local_maintenance ? 1 : 0);
      this.agentStopped.set(l, h.stopped ? 1 : 0);
      if (h.state) this.agentState.set({ ...l, state: h.state }, 1);
    }
    this.globalMaintenance.set(status.global_maintenance ? 1 : 0);
    const self = { host_id: String(status.host_id) };
    if (status.local.score !== null) this.localScore.set(self, status.local.score);
    for (const m of status.local.monitors) {
      const l = { monitor: m.id, type: m.type };
      const v = monitorNumber(m.value);
      this.monitorUp.set(l, m.value === null ? 0 : 1);
      if (v === undefined) continue;
      if (m.type === MEM_FREE_TYPE) this.memoryFree.set(v * MIB);
      else this.monitorValue.set(l, v);
    }
    if (status.local.lease_held !== null)
      this.lockspaceHeld.set(self, status.local.lease_held ? 1 : 0);
    const kinds = new Map<string, number>();
    for (const e of status.decode_errors) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
    for (const [kind, n] of kinds) this.decodeErrors.set({ kind }, n);
    const storage = { volume: status.storage.metadata_path };
    if (status.storage.last_read_ok !== null) {
      this.lastReadOk.set(storage, status.storage.last_read_ok);
    }
    if (status.storage.last_read_age_seconds !== null) {
      this.lastReadAge.set(storage, status.storage.last_read_age_seconds);
    }
    this.storageStale.set(storage, status.storage.stale ? 1 : 0);
    this.volumeShort.set(storage, status.storage.volume_short ? 1 : 0);
    this.writesFailing.set(storage, status.storage.writes_failing ? 1 : 0);
    this.syncCounter("read", this.storageErrors, status.storage.read_errors_total, {
      operation: "read",
    });
    this.syncCounter("write", this.storageErrors, status.storage.write_errors_total, {
      operation: "write",
    });
    this.syncCounter("refused", this.writesRefused, status.storage.writes_refused_total);
    this.syncCounter("sent", this.notificationsSent, notifications.sent);
    this.syncCounter("failed", this.notificationsFailed, notifications.failed);
    this.syncCounter("suppressed", this.notificationsSuppressed, notifications.suppressed);
  }

  /** Brings a counter up to a running total kept elsewhere. */
  private syncCounter(
    key: string,
    counter: Counter,
    total: number,
    labels: Record<string, string> = {},
  ): void {
    const before = this.seen.get(key) ?? 0;
    if (total > before) counter.inc(labels, total - before);
    this.seen.set(key, Math.max(before, total));
  }

  async render(
    status: BrokerStatus,
    notifications: { sent: number; failed: number; suppressed: number },
  ): Promise<string> {
    this.update(status, notifications);
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * A monitor's string value as a number: "0.9" → 0.9, "True"/"False" → 1/0, the
 * engine-health JSON → 1 when vm is up; anything else has no number.
 */
export function monitorNumber(value: string | null): number | undefined {
  if (value === null || value === "None") return undefined;
  if (value === "True") return 1;
  if (value === "False") return 0;
  const n = Number(value);
  if (value.trim() !== "" && Number.isFinite(n)) return n;
  if (value.trim().startsWith("{")) {
    try {
      const parsed = JSON.parse(value) as { vm?: unknown };
      if (typeof parsed.vm === "string") return parsed.vm === "up" ? 1 : 0;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
