import type { FastifyInstance } from "fastify";
import { type AgentConf, loadAgentConf } from "../common/agent-conf.js";
import { type HostConfig, loadHostConfig } from "../common/host-config.js";
import { systemTime } from "../common/host-time.js";
import { publishedHostname } from "../common/hostname.js";
import type { Logger } from "../common/log.js";
import { type HaPaths, haPaths } from "../common/paths.js";
import { HypervisorConnection } from "../libvirt/hypervisor.js";
import { haVolumes } from "../storage/domain.js";
import { domainGeometryFor, geometryThroughVdsm } from "../storage/domain-geometry.js";
import { decodeWhiteboard, encodeGlobalBlock } from "../storage/whiteboard/index.js";
import { localVdsmApi, vmBackendFor } from "../vdsm/backend-choice.js";
import { vdsmVmStatsSource } from "../vdsm/vm-stats-source.js";
import { startMetrics } from "./api/metrics-listener.js";
import { closeUnix, createBrokerApp, listenUnix } from "./api/server.js";
import { chooseSocketGroup } from "./api/unix-socket.js";
import { SanlockLockspace } from "./lockspace.js";
import { ReopeningMetadataStore } from "./metadata-store.js";
import { BrokerMetrics } from "./metrics.js";
import type { MonitorDeps } from "./monitors/monitor.js";
import { createMonitor } from "./monitors/registry.js";
import { Notifier } from "./notifications/notifier.js";
import type { BrokerReportsFactory } from "./reports.js";
import { BrokerService } from "./service.js";
import { ReadTimings } from "./state/read-timings.js";

export interface BrokerDaemonOptions {
  /** HE_HA_ROOT-style prefix of every path */
  root: string;
  log: Logger;
  /**
   * group the socket is given (HE_HA_SOCKET_GROUP); unset or empty: hosted-engine.conf
   * `socket_group`, else "kvm" (either only when the group exists)
   */
  socketGroup?: string;
  /** monitor dependencies to replace (hypervisor, /proc and /sys roots) */
  monitorDeps?: Partial<MonitorDeps>;
  /**
   * `he-ha explain`'s and `he-ha doctor`'s reports (src/broker/reports.ts; the bin passes
   * src/doctor/broker-reports.ts); absent: GET /v1/explain and /v1/doctor answer 404
   */
  reports?: BrokerReportsFactory;
}

/** A running broker: what the bin and tests hold on to. */
export interface RunningBroker {
  paths: HaPaths;
  conf: HostConfig;
  agentConf: AgentConf;
  service: BrokerService;
  metrics: BrokerMetrics;
  socketPath: string;
  /** the TCP metrics address actually bound, when metrics_listen is set */
  metricsAddress: string | undefined;
  /** closes the API, removes the socket, stops the cycle and the monitors */
  stop(): Promise<void>;
}

/**
 * Starts ovirt-ha-broker: reads hosted-engine.conf (HostConfigError when HA is not
 * configured) and agent.conf, resolves the HA volumes, then serves the API on the
 * socket (and metrics on TCP when `metrics_listen` is set) and runs the storage cycle.
 * Storage need not be reachable at start: the cycle retries until it is.
 */
export async function startBroker(opts: BrokerDaemonOptions): Promise<RunningBroker> {
  const paths = haPaths(opts.root);
  const conf = await loadHostConfig(paths.hostConf);
  const agentConf = await loadAgentConf(paths.agentConf);
  const log = opts.log.child({ host_id: conf.hostId });
  const volumes = haVolumes(conf, paths);
  log.info({ metadata: volumes.metadata, lockspace: volumes.lockspace }, "HA volumes");

  // connected on first use and reconnected with backoff: a libvirtd not up yet is no failure
  const hypervisor = new HypervisorConnection(conf.libvirtUri, log);
  // the agent's choice (vm_backend, VDSM's key and certificate): on VDSM hosts engine-health
  // watches the engine VM through VDSM's VM.getStats, as the original broker does
  const backend = await vmBackendFor(conf, paths.root);
  log.info(
    { vm_backend: backend.backend, reason: backend.why },
    backend.backend === "vdsm"
      ? "engine VM watched through VDSM (VM.getStats on localhost)"
      : "engine VM watched through libvirt",
  );
  // one VDSM connection for the VM monitors (VM.getStats) and the host monitors
  // (Host.getStats, Host.getStorageRepoStats), as the original shares its client
  const vdsmApi = backend.backend === "vdsm" ? localVdsmApi(conf, paths.root, log) : undefined;
  // the domain's sector size and alignment (VDSM's StorageDomain.getInfo where VDSM runs),
  // every volume checked against it before the first read or write (a mismatch names the
  // device; the broker serves on, writing nothing)
  const geometry = domainGeometryFor(
    volumes,
    vdsmApi ? geometryThroughVdsm(vdsmApi, conf.sdUUID) : undefined,
  );
  const store = new ReopeningMetadataStore(volumes.metadata, log, geometry);
  const lockspace = new SanlockLockspace({
    hostId: conf.hostId,
    path: volumes.lockspace,
    ioTimeout: conf.sanlockIoTimeout,
    log,
    geometry,
  });
  const vdsm = vdsmApi !== undefined ? vdsmVmStatsSource(vdsmApi) : undefined;
  // engine-health asks the service, made below, whether the engine runs on another host
  let serviceRef: BrokerService | undefined;
  const deps: MonitorDeps = {
    log,
    hypervisor,
    ...(vdsm !== undefined && vdsmApi !== undefined ? { vdsm, vdsmHost: vdsmApi } : {}),
    runDir: paths.runDir,
    engineUpElsewhere: () => serviceRef?.engineUpElsewhere() ?? false,
    timing: agentConf.timing,
    intervalSeconds: agentConf.timing.monitor_interval,
    storage: { metadata: volumes.metadata, lockspace: volumes.lockspace },
    ...opts.monitorDeps,
  };
  const notifier = new Notifier({
    configFile: paths.brokerConf,
    templatesDir: paths.notificationsDir,
    log,
  });
  const metrics = new BrokerMetrics();
  const readTimings = new ReadTimings();
  const service = new BrokerService({
    hostId: conf.hostId,
    timing: agentConf.timing,
    env: {
      time: systemTime,
      store,
      lockspace,
      monitors: (type, options) => createMonitor(type, options, deps),
      notifier,
    },
    decode: decodeWhiteboard,
    encodeGlobal: encodeGlobalBlock,
    log,
    onRead: (s, ok) => {
      if (!ok) return;
      metrics.readSeconds.observe(s);
      readTimings.add(s);
    },
    onWrite: (s, ok) => {
      if (ok) metrics.writeSeconds.observe(s);
    },
  });

  serviceRef = service;
  const hostname = await publishedHostname(conf, paths.root);
  const reports = opts.reports?.({
    paths,
    conf,
    agentConf,
    hostname,
    metadataVolume: volumes.metadata,
    backend: backend.backend,
    status: () => service.status(),
    observedDurations: () => service.observedDurations(),
    readSeconds: () => readTimings.recent(),
    ...(vdsmApi ? { pingVdsm: () => vdsmApi.ping2() } : {}),
    time: systemTime,
    log,
    registry: metrics.registry,
  });
  const apiOpts = { service, metrics, log, ...(reports ? { reports } : {}) };
  const app = createBrokerApp(apiOpts);
  let metricsApp: FastifyInstance | undefined;
  let metricsAddress: string | undefined;
  try {
    const group = chooseSocketGroup(opts.socketGroup, conf.raw.get("socket_group"));
    await listenUnix(app, paths.brokerSocket, { group, log });
    ({ app: metricsApp, address: metricsAddress } = await startMetrics(conf.raw, apiOpts));
  } catch (e) {
    // start-up failed: the error thrown below is what matters; closing is best effort
    await metricsApp?.close().catch(() => undefined);
    await closeUnix(app, paths.brokerSocket).catch(() => undefined);
    throw e;
  }
  service.start();
  reports?.start();

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      log.info("broker stopping");
      reports?.stop();
      await Promise.allSettled([closeUnix(app, paths.brokerSocket), metricsApp?.close()]);
      await service.stop();
      vdsm?.close();
      await Promise.allSettled([store.close(), hypervisor.close()]);
      log.info("broker stopped");
    })();
    return stopping;
  };
  return {
    paths,
    conf,
    agentConf,
    service,
    metrics,
    socketPath: paths.brokerSocket,
    metricsAddress,
    stop,
  };
}
