import type { BrokerApi } from "../agent/broker-link.js";
import { BrokerUnreachableError, XmlRpcFault } from "../broker/client.js";
import { engineStatusJson } from "../broker/monitors/engine-health.js";
import {
  decideEngineStatus,
  type EngineHealthStatus,
  needsLiveliness,
  type TrackedVm,
  type VmObservation,
} from "../broker/monitors/engine-status.js";
import { START_FAILURE_TTL_MS } from "../broker/monitors/start-failure.js";
import { padSegment } from "../broker/storage-cycle.js";
import { formatBool } from "../common/keyvalue.js";
import type { SimHypervisor } from "./hypervisor.js";
import type { VirtualScheduler } from "./scheduler.js";
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

/** The agent's start-failure record, shared with the engine-health monitor (in memory). */
export class SimStartFailure {
  entry: { reason: string; at: number } | null = null;

  constructor(private readonly sched: VirtualScheduler) {}

  async record(reason: string): Promise<void> {
    this.entry = { reason, at: this.sched.now };
  }

  async clear(): Promise<void> {
    this.entry = null;
  }

  /** the reason while younger than the broker's TTL (as freshStartFailure) */
  fresh(): string | undefined {
    if (!this.entry) return undefined;
    return (this.sched.now - this.entry.at) * 1000 < START_FAILURE_TTL_MS
      ? this.entry.reason
      : undefined;
  }
}

export interface SimBrokerDeps {
  hostId: number;
  sched: VirtualScheduler;
  whiteboard: SimWhiteboard;
  hypervisor: SimHypervisor;
  monitors: SimMonitors;
  startFailure: SimStartFailure;
  /** the host reaches the shared storage */
  storageOk: () => boolean;
  /** the host holds its id in the hosted-engine lockspace */
  holdsHostId: () => boolean;
  cycleSeconds: number;
  monitorSeconds: number;
  /** for the timeline */
  event: (text: string) => void;
}

/**
 * ovirt-ha-broker of one simulated host, as the agent sees it through BrokerApi: the
 * storage cycle of src/broker/storage-cycle.ts (queued own block written only while
 * the host holds its id, the global block always, then a whole read; stale after three
 * cycles without a good read), the engine-health monitor's own mapping
 * (decideEngineStatus) sampled every monitor interval, and the other monitors answering
 * what the scenario set. A stopped broker refuses every call; a restarted one forgot
 * the monitors, the queue and the last read.
 */
export class SimBroker implements BrokerApi {
  private running = false;
  private instance = 0;
  private monitorIds = new Map<string, string>();
  private pending = new Map<number, Buffer>();
  private segs = new Map<number, Buffer>();
  private lastReadOk: number | undefined;
  private lastReadError: string | null = null;
  private engine: { tracked: TrackedVm; status: EngineHealthStatus | null } = {
    tracked: "down",
    status: null,
  };
  private stopTimers: Array<() => void> = [];

  constructor(private readonly d: SimBrokerDeps) {}

  get up(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.instance++;
    this.monitorIds = new Map();
    this.pending = new Map();
    this.segs = new Map();
    this.lastReadOk = undefined;
    this.lastReadError = null;
    this.engine = { tracked: "down", status: null };
    const s = this.d.sched;
    this.stopTimers = [
      s.every(this.d.cycleSeconds, () => this.cycle(), 0),
      s.every(this.d.monitorSeconds, () => this.sampleEngine(), 0),
    ];
  }

  stop(): void {
    this.running = false;
    for (const t of this.stopTimers) t();
    this.stopTimers = [];
  }

  /** Queues a block as put_stats does (used for the global block by `he-ha maintenance`). */
  queue(hostId: number, block: Buffer): void {
    this.pending.set(hostId, padSegment(block, hostId));
    this.d.sched.after(0, () => this.cycle());
  }

  private check(): void {
    if (!this.running)
      throw new BrokerUnreachableError(`/sim/host${this.d.hostId}/broker.socket`, "ECONNREFUSED");
  }

  private cycle(): void {
    if (!this.running) return;
    const ok = this.d.storageOk();
    for (const [id, seg] of [...this.pending]) {
      if (id !== 0 && !this.d.holdsHostId()) {
        this.pending.delete(id);
        continue;
      }
      if (!ok) continue;
      this.d.whiteboard.write(id, seg);
      this.pending.delete(id);
    }
    if (!ok) {
      if (this.lastReadError === null) this.d.event("broker: cannot read the whiteboard");
      this.lastReadError = "read: Input/output error";
      return;
    }
    if (this.lastReadError !== null) this.d.event("broker: whiteboard readable again");
    this.lastReadError = null;
    this.segs = this.d.whiteboard.read();
    this.lastReadOk = this.d.sched.now;
  }

  private sampleEngine(): void {
    if (!this.running) return;
    let obs: VmObservation;
    try {
      const st = this.d.hypervisor.domainState();
      obs = st === null ? { kind: "missing" } : { kind: "state", state: st };
    } catch {
      obs = { kind: "unavailable" };
    }
    const lock = needsLiveliness(obs) ? undefined : this.d.startFailure.fresh();
    const dec = decideEngineStatus(
      this.engine.tracked,
      obs,
      lock,
      this.d.hypervisor.engineAnswers(),
    );
    this.engine = { tracked: dec.tracked, status: dec.status };
  }

  private monitorValue(type: string): string {
    const m = this.d.monitors;
    switch (type) {
      case "network":
        return String(m.network);
      case "mgmt-bridge":
        return formatBool(m.bridge);
      case "mem-free":
        return String(m.memory);
      case "cpu-load-no-engine":
        return m.cpu.toFixed(4);
      case "engine-health":
        return this.engine.status ? engineStatusJson(this.engine.status) : "None";
      case "storage-domain":
        return formatBool(m.storage && this.d.storageOk());
      default:
        throw new XmlRpcFault(1, `unknown monitor type ${type}`);
    }
  }

  async startMonitor(type: string): Promise<string> {
    this.check();
    this.monitorValue(type);
    const id = `${this.instance}-${type}`;
    this.monitorIds.set(id, type);
    return id;
  }

  async statusMonitor(id: string): Promise<string> {
    this.check();
    const type = this.monitorIds.get(id);
    if (type === undefined) throw new XmlRpcFault(1, `no monitor with id ${id}`);
    return this.monitorValue(type);
  }

  async getStats(): Promise<Map<number, Buffer>> {
    this.check();
    const out = new Map(this.segs);
    for (const [id, seg] of this.pending) out.set(id, seg);
    return new Map([...out].sort((a, b) => a[0] - b[0]));
  }

  async putStats(hostId: number, block: Buffer): Promise<void> {
    this.check();
    this.queue(hostId, block);
  }

  async pushHostsState(): Promise<void> {
    this.check();
  }

  async notify(): Promise<"sent" | "ignored"> {
    this.check();
    return "ignored";
  }

  async status(): Promise<{ storage: { stale: boolean; last_read_error: string | null } }> {
    this.check();
    const stale =
      this.lastReadOk === undefined || this.d.sched.now - this.lastReadOk > 3 * this.d.cycleSeconds;
    return { storage: { stale, last_read_error: this.lastReadError } };
  }

  close(): void {}
}
