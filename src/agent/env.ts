import { type HaConf, readHaConf } from "../common/ha-conf.js";
import type { HostConfig } from "../common/host-config.js";
import type { Logger } from "../common/log.js";
import { monotonicSeconds } from "../common/monotonic.js";
import type { HaPaths } from "../common/paths.js";
import type { StorageConnector } from "../storage/connect/connector.js";
import type { DomainGeometry } from "../storage/domain-geometry.js";
import type { BrokerApi } from "./broker-link.js";
import { ConfigRefresher, type ConfigState, type OvfStoreSource } from "./config-refresh.js";
import type { EngineVm } from "./engine-vm.js";
import type { LockspacePort } from "./ports.js";

/** Where the agent's configuration comes from (ConfigRefresher: the shared storage's archive and OVF_STORE). */
export interface ConfigSource {
  /** refreshes from the source; a failure keeps the last good state (and is logged) */
  refresh(): Promise<ConfigState>;
  /** the state after the last refresh */
  readonly state: ConfigState;
}

/**
 * What ovirt-ha-agent reaches outside its own memory, in one place: time and waiting,
 * its files (ha.conf, the configuration on shared storage), ovirt-ha-broker, sanlock's
 * lockspaces, the engine VM with its lease (hypervisor or VDSM, sanlock), and the
 * storage domain's connection. AgentDaemon runs on it. Two implementations: the host's
 * (createAgent in main.ts: productionEnv's clocks and files, BrokerClient on the socket,
 * sanlock, engineVmFor's EngineVm, the storage connector) and the simulator's
 * (src/simulator/host.ts: one virtual clock, the in-process broker, the sanlock model,
 * the simulated hypervisor).
 */
export interface AgentEnv extends HostBasics {
  /** ovirt-ha-broker; the agent calls it only through its BrokerLink */
  broker: BrokerApi;
  /** sanlock's lockspaces (joined and left through LockspaceMembership) */
  lockspace: LockspacePort;
  /** the engine VM and its lease (engine-vm.ts; built by engineVmFor on a host) */
  engine: EngineVm;
  /** connects and watches the storage domain (issue 12); none in the simulator */
  storage?: StorageConnector | undefined;
  /**
   * the domain's sector size and alignment, checked against its volumes before the
   * lockspace join (every sanlock call then carries it); absent: sanlock's defaults
   */
  geometry?: DomainGeometry | undefined;
}

/** The time and files part of AgentEnv. */
export interface HostBasics {
  /** monotonic seconds (block timestamps, state timers, liveness) */
  clock(): number;
  /** wall-clock Unix seconds (only for the human-readable ctime lines of a block) */
  wallSeconds(): number;
  /** resolves after `ms` or as soon as `signal` aborts; at once when `ms` ≤ 0 */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** ha.conf's local maintenance flags; throws when the file cannot be read or parsed */
  readHaConf(): Promise<HaConf>;
  config: ConfigSource;
}

/** setTimeout-based sleep, cut short by `signal`. */
export function timerSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

export interface ProductionEnvOptions {
  hostConf: HostConfig;
  paths: HaPaths;
  volumes: { domain: string; conf: string };
  log: Logger;
  /** monotonic seconds; default the machine's monotonic clock */
  clock?: () => number;
  /** where the OVF_STORE volumes are; default the domain directory's (config-refresh.ts) */
  ovfStores?: OvfStoreSource;
}

/** The time and files of the agent's environment on a real host: machine clocks, timers, files and shared storage. */
export function productionEnv(o: ProductionEnvOptions): HostBasics {
  const clock = o.clock ?? monotonicSeconds;
  return {
    clock,
    wallSeconds: () => Date.now() / 1000,
    sleep: timerSleep,
    readHaConf: () => readHaConf(o.paths.haConf),
    config: new ConfigRefresher({
      conf: o.hostConf,
      paths: o.paths,
      volumes: o.volumes,
      log: o.log,
      clock,
      ...(o.ovfStores ? { ovfStores: o.ovfStores } : {}),
    }),
  };
}
