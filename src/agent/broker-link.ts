import type { Collected } from "../broker/agent-wire.js";
import { BrokerUnreachableError, XmlRpcFault } from "../broker/client.js";
import { STATUS_NO_VALUE } from "../broker/monitor-manager.js";
import type { HostConfig } from "../common/host-config.js";
import type { Logger } from "../common/log.js";
import type { AgentMonitor } from "../common/monitor-table.js";
import { MONITOR_FIELDS, type MonitorField, type MonitorStrings } from "./monitor-values.js";

/** What the agent needs from ovirt-ha-broker (src/broker/client.ts implements it). */
export interface BrokerApi {
  startMonitor(type: string, options: Record<string, string | number | boolean>): Promise<string>;
  statusMonitor(id: string): Promise<string>;
  getStats(): Promise<Map<number, Buffer>>;
  putStats(hostId: number, block: Buffer): Promise<void>;
  pushHostsState(ids: readonly number[]): Promise<void>;
  notify(
    eventType: string,
    detail: string,
    options?: Record<string, string>,
  ): Promise<"sent" | "ignored">;
  /**
   * one loop's input in one request: whether the broker's storage view is stale, its
   * monitors' values and get_stats (src/broker/agent-wire.ts)
   */
  collect(): Promise<Collected>;
  /** one loop's output in one request: put_stats of this host's block, then push_hosts_state */
  publish(hostId: number, block: Buffer, alive: readonly number[]): Promise<void>;
  /** the broker's own status document */
  status(): Promise<{
    storage: { stale: boolean; last_read_error: string | null };
    local?: { monitors?: ReadonlyArray<{ id: string; value: string | null }> };
  }>;
  close(): void;
}

type MonitorOptions = Record<string, string | number | boolean>;

/** The options the agent starts each of its monitors with (behaviour.md §7). */
const MONITOR_OPTIONS: { [K in AgentMonitor]: (conf: HostConfig) => MonitorOptions } = {
  network: (conf) => {
    const o: MonitorOptions = { addr: conf.gateway, network_test: conf.networkTest };
    if (conf.tcpTAddress) o.tcp_t_address = conf.tcpTAddress;
    if (conf.tcpTPort) o.tcp_t_port = conf.tcpTPort;
    return o;
  },
  "mgmt-bridge": (conf) => ({ bridge_name: conf.bridge }),
  "mem-free": () => ({}),
  "cpu-load-no-engine": (conf) => ({ vm_uuid: conf.vmId }),
  "engine-health": (conf) => ({ vm_uuid: conf.vmId, fqdn: conf.fqdn }),
  "storage-domain": (conf) => ({ sd_uuid: conf.sdUUID }),
};

/** The monitors the agent starts and their options, in the table's order. */
export function monitorRequests(
  conf: HostConfig,
): Array<{ field: MonitorField; type: MonitorField; options: MonitorOptions }> {
  return MONITOR_FIELDS.map((type) => ({
    field: type,
    type,
    options: MONITOR_OPTIONS[type](conf),
  }));
}

export interface BrokerLinkOptions {
  conf: HostConfig;
  log: Logger;
  /** first reconnect delay (ms, default 1000), doubled up to maxBackoffMs */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * The agent's side of the broker: registers the monitors (again after a broker
 * restart, which forgets them), reads their values, and tracks reachability with a
 * reconnect backoff. While the broker is unreachable the agent makes no VM decision.
 */
export class BrokerLink {
  private ids = new Map<MonitorField, string>();
  private readonly refused = new Set<MonitorField>();
  private readonly log: Logger;
  private readonly conf: HostConfig;
  private readonly initialBackoff: number;
  private readonly maxBackoff: number;
  private backoff: number;
  private unreachableSince: number | null = null;

  constructor(
    readonly api: BrokerApi,
    opts: BrokerLinkOptions,
  ) {
    this.log = opts.log;
    this.conf = opts.conf;
    this.initialBackoff = opts.backoffMs ?? 1000;
    this.maxBackoff = opts.maxBackoffMs ?? 30_000;
    this.backoff = this.initialBackoff;
  }

  /** Drops the connection to the broker (the agent is stopping). */
  close(): void {
    this.api.close();
  }

  /** true while the last call failed with BrokerUnreachableError */
  get unreachable(): boolean {
    return this.unreachableSince !== null;
  }

  /** How long to wait before trying again after an unreachable broker (doubles each time). */
  nextBackoffMs(): number {
    const b = this.backoff;
    this.backoff = Math.min(this.maxBackoff, this.backoff * 2);
    return b;
  }

  /** Runs a broker call, recording reachability; BrokerUnreachableError is rethrown. */
  async call<T>(what: string, fn: (api: BrokerApi) => Promise<T>): Promise<T> {
    try {
      const v = await fn(this.api);
      if (this.unreachableSince !== null) {
        this.log.info({ down_ms: Date.now() - this.unreachableSince }, "broker reachable again");
        this.unreachableSince = null;
        this.backoff = this.initialBackoff;
      }
      return v;
    } catch (e) {
      if (e instanceof BrokerUnreachableError) {
        if (this.unreachableSince === null) {
          this.unreachableSince = Date.now();
          this.log.warn(
            { op: what, err: e },
            "broker unreachable: no VM decision until it is back",
          );
          // a restarted broker knows none of our monitors
          this.ids.clear();
        }
      }
      throw e;
    }
  }

  /**
   * Starts every monitor not yet registered with this broker instance. A monitor the
   * broker refuses (XML-RPC fault) is logged and tried again next time; it has no value
   * meanwhile (for engine-health: status unknown, which freezes VM decisions).
   */
  async ensureMonitors(): Promise<void> {
    for (const req of monitorRequests(this.conf)) {
      if (this.ids.has(req.field)) continue;
      try {
        const id = await this.call(`start_monitor ${req.type}`, (b) =>
          b.startMonitor(req.type, req.options),
        );
        this.ids.set(req.field, id);
        this.refused.delete(req.field);
        this.log.debug({ monitor: req.type, id }, "monitor started");
      } catch (e) {
        if (!(e instanceof XmlRpcFault)) throw e;
        if (!this.refused.has(req.field)) {
          this.log.error(
            { monitor: req.type, err: e },
            "the broker refused to start a monitor: no value until it does",
          );
        }
        this.refused.add(req.field);
      }
    }
  }

  /**
   * Every monitor's current value; a monitor the broker no longer knows (it restarted)
   * is started again and counts as "no value yet" for this collection. With `listed`
   * (the monitors of the status document this loop already fetched) the values are read
   * from it, as status_monitor would answer them; else one status_monitor call each.
   */
  async monitorValues(
    listed?: ReadonlyArray<{ id: string; value: string | null }>,
  ): Promise<MonitorStrings> {
    const known = new Set(this.ids.keys());
    await this.ensureMonitors();
    const out: MonitorStrings = {};
    const byId = listed && new Map(listed.map((m) => [m.id, m.value]));
    for (const field of MONITOR_FIELDS) {
      const id = this.ids.get(field);
      if (id === undefined) continue;
      try {
        // a monitor started just now is not in a status fetched before: ask it directly
        if (!known.has(field))
          out[field] = await this.call(`status_monitor ${field}`, (b) => b.statusMonitor(id));
        else if (byId?.has(id)) out[field] = byId.get(id) ?? STATUS_NO_VALUE;
        else if (byId) throw new XmlRpcFault(1, `monitor ${id} is not in the broker's status`);
        else out[field] = await this.call(`status_monitor ${field}`, (b) => b.statusMonitor(id));
      } catch (e) {
        if (!(e instanceof XmlRpcFault)) throw e;
        this.log.warn(
          { monitor: field, err: e },
          "monitor unknown to the broker: starting it again",
        );
        this.ids.delete(field);
        out[field] = null;
      }
    }
    return out;
  }
}
