import { type HaConf, readHaConf } from "../common/ha-conf.js";
import type { HostConfig } from "../common/host-config.js";
import type { Logger } from "../common/log.js";
import { monotonicSeconds } from "../common/monotonic.js";
import type { HaPaths } from "../common/paths.js";
import { ConfigRefresher, type ConfigState, type OvfStoreSource } from "./config-refresh.js";

/** Where the agent's configuration comes from (ConfigRefresher: the shared storage's archive and OVF_STORE). */
export interface ConfigSource {
  /** refreshes from the source; a failure keeps the last good state (and is logged) */
  refresh(): Promise<ConfigState>;
  /** the state after the last refresh */
  readonly state: ConfigState;
}

/**
 * What the agent takes from its surroundings besides the broker, sanlock and the engine
 * VM: time, waiting, ha.conf and the configuration source. Real in production
 * (productionEnv), in-memory on one virtual clock in the simulator (src/simulator/).
 */
export interface AgentEnv {
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

/** The agent's environment on a real host: machine clocks, timers, files and shared storage. */
export function productionEnv(o: ProductionEnvOptions): AgentEnv {
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
