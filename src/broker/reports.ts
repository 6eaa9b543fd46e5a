import type { Registry } from "prom-client";
import type { AgentConf } from "../common/agent-conf.js";
import type { HostConfig } from "../common/host-config.js";
import type { HostTime } from "../common/host-time.js";
import type { Logger } from "../common/log.js";
import type { HaPaths } from "../common/paths.js";
import type { VmBackend } from "../vdsm/backend-choice.js";
import type { ObservedDurationsDoc } from "./state/observed-durations.js";
import type { BrokerStatus } from "./status.js";

/**
 * What the broker serves but does not make: `he-ha explain`'s document (GET /v1/explain)
 * and `he-ha doctor`'s findings (GET /v1/doctor), and their series on /metrics. Their
 * rules run the agent's own state machine and probe the host, so they live above both
 * daemons (src/explain, src/doctor) and the entry point plugs them in
 * (src/bin/ovirt-ha-broker.ts passes src/doctor/broker-reports.ts); a broker started
 * without them answers 404 on both paths.
 */
export interface BrokerReports {
  /** GET /v1/explain's document (the first call waits for the first read of the local files) */
  explain(): Promise<unknown>;
  /** GET /v1/doctor's answer: the latest findings with their age (the first call waits for the first run) */
  doctor(staleAfterSeconds?: number): Promise<unknown>;
  /** sets the reports' series in the broker's registry before a scrape renders it */
  updateMetrics(): Promise<void>;
  /** starts gathering on the reports' own schedule (after the API listens) */
  start(): void;
  stop(): void;
}

/** What the broker hands its reports: its configuration, its live status and its registry. */
export interface BrokerReportsHost {
  paths: HaPaths;
  conf: HostConfig;
  agentConf: AgentConf;
  /** the hostname this host publishes */
  hostname: string;
  metadataVolume: string;
  backend: VmBackend;
  /** the broker's status document now (GET /v1/status) */
  status(): BrokerStatus;
  /** the engine's start and stop as this broker last saw them on the whiteboard */
  observedDurations?(): ObservedDurationsDoc;
  /** the durations of the broker's last whiteboard reads, seconds */
  readSeconds(): number[];
  /** asks VDSM for Host.ping2 on the broker's connection (absent: no VDSM) */
  pingVdsm?: () => Promise<unknown>;
  time: HostTime;
  log: Logger;
  /** the broker's Prometheus registry (/metrics) */
  registry: Registry;
}

export type BrokerReportsFactory = (host: BrokerReportsHost) => BrokerReports;
