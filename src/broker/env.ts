import type { HostTime } from "../common/host-time.js";
import type { MonitorFactory } from "./monitor-manager.js";
import type { HostIdLease, MetadataStore } from "./storage-cycle.js";

export type NotifyResult = "sent" | "ignored";

/** notify(event_type, detail, options) of behaviour.md §10 (src/broker/notifications). */
export interface Notifier {
  notify(eventType: string, detail: string, options: Record<string, string>): Promise<NotifyResult>;
  /** messages sent and failed so far */
  readonly stats: { readonly sent: number; readonly failed: number; readonly suppressed: number };
}

/** The lockspace operations the broker performs itself. */
export interface BrokerLockspace extends HostIdLease {
  /** re-initialises the `hosted-engine` lockspace (sanlock direct init) */
  reset(): Promise<void>;
}

/**
 * Everything ovirt-ha-broker touches outside its own memory, in one place: the host's
 * time (clock and timers: the storage cycle's and every monitor's schedule), the
 * metadata volume (storage I/O), sanlock, the monitors (which reach the hypervisor or
 * VDSM, /proc, /sys and child processes) and mail. `BrokerService` runs on it.
 *
 * Two implementations: the host's (`startBroker`, src/broker/daemon.ts: O_DIRECT
 * volume, sanlock, libvirt or VDSM, SMTP) and the simulator's
 * (src/simulator/broker-env.ts: the cluster's virtual clock, in-memory whiteboard and
 * sanlock model, monitors answering the scenario's values).
 */
export interface BrokerEnv {
  time: HostTime;
  store: MetadataStore;
  lockspace: BrokerLockspace;
  /** builds the monitor of start_monitor(type, options) */
  monitors: MonitorFactory;
  notifier: Notifier;
}
