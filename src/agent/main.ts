import { BrokerClient } from "../broker/client.js";
import { type AgentConf, loadAgentConf } from "../common/agent-conf.js";
import { hostConfigFrom, loadHostConfig } from "../common/host-config.js";
import { publishedHostname } from "../common/hostname.js";
import type { Logger } from "../common/log.js";
import { haPaths } from "../common/paths.js";
import { Lockspace } from "../sanlock/lockspace.js";
import { HE_LOCKSPACE } from "../sanlock/names.js";
import { storageConnectorFor } from "../storage/connect/index.js";
import { haVolumes } from "../storage/domain.js";
import { domainGeometryFor, geometryThroughVdsm } from "../storage/domain-geometry.js";
import { localVdsmApi } from "../vdsm/backend-choice.js";
import { findOvfStoresThroughVdsm } from "../vdsm/domain-content.js";
import { vdsmStorageConnector } from "./backend.js";
import { type CleanupResult, cleanupMetadata } from "./cleanup.js";
import { AgentDaemon } from "./daemon.js";
import { type EngineVmSetup, engineVmChoices, engineVmFor } from "./engine-vm-factory.js";
import { productionEnv } from "./env.js";
import { domainTypeFor } from "./libvirt-vm.js";

export interface AgentSetup extends EngineVmSetup {
  agentConf: AgentConf;
  /** the hostname published in this host's block (see publishedHostname) */
  hostname?: string;
}

/**
 * Reads hosted-engine.conf (HostConfigError when HA is not configured) and agent.conf
 * (AgentConfError), and resolves the HA volumes (DomainPathError). `hostId` overrides
 * the configured host id (--host-id).
 */
export async function loadAgentSetup(root: string, hostId?: number): Promise<AgentSetup> {
  const paths = haPaths(root);
  let hostConf = await loadHostConfig(paths.hostConf);
  if (hostId !== undefined) {
    hostConf = hostConfigFrom(
      new Map([...hostConf.raw, ["host_id", String(hostId)]]),
      paths.hostConf,
    );
  }
  const agentConf = await loadAgentConf(paths.agentConf);
  const volumes = haVolumes(hostConf, paths);
  const hostname = await publishedHostname(hostConf, paths.root);
  const choices = await engineVmChoices(hostConf, paths.root);
  const geometry = domainGeometryFor(volumes);
  return { paths, hostConf, agentConf, volumes, hostname, ...choices, geometry };
}

/** The agent daemon wired to the real broker socket, sanlock and libvirt. */
export function createAgent(
  setup: AgentSetup,
  log: Logger,
  onReady?: () => void,
  onStatus?: (text: string) => void,
): AgentDaemon {
  const { hostConf } = setup;
  const leaseHolder = setup.leaseHolder ?? { holder: "agent", why: "default" };
  const domainType = setup.domainType ?? domainTypeFor(hostConf.libvirtUri);
  if (domainType === "qemu")
    log.warn(
      { libvirt_uri: hostConf.libvirtUri },
      "no /dev/kvm on this host: the engine VM runs in software emulation (domain type qemu)",
    );
  log.info(
    { lease_holder: leaseHolder.holder, reason: leaseHolder.why },
    leaseHolder.holder === "libvirt"
      ? "engine VM lease: taken by libvirt's sanlock lock manager for qemu"
      : "engine VM lease: taken by the agent before the VM starts",
  );
  // on VDSM hosts one more VDSM connection carries the storage calls (connect,
  // Image.prepare, Volume.getInfo, StorageDomain.getInfo, the OVF_STORE look-up)
  const storageApi =
    setup.vmBackend?.backend === "vdsm" ? localVdsmApi(hostConf, setup.paths.root, log) : undefined;
  // the domain's sector geometry: VDSM's StorageDomain.getInfo where VDSM runs
  const geometry = storageApi
    ? domainGeometryFor(setup.volumes, geometryThroughVdsm(storageApi, hostConf.sdUUID))
    : setup.geometry;
  const { engine } = engineVmFor({ ...setup, ...(geometry ? { geometry } : {}) }, log, {
    vmConfSource: "vm.conf",
    caller: "agent",
    ...(storageApi ? { storageApi } : {}),
  });
  return new AgentDaemon({
    ...setup,
    log,
    env: {
      ...productionEnv({
        hostConf,
        paths: setup.paths,
        volumes: setup.volumes,
        log,
        // VDSM hosts find the OVF_STORE as the original does: through VDSM, on file and
        // block domains alike (a block domain has no directory to scan)
        ...(storageApi
          ? { ovfStores: () => findOvfStoresThroughVdsm(storageApi, hostConf, log) }
          : {}),
      }),
      broker: new BrokerClient(setup.paths.brokerSocket, { timeoutMs: 30_000 }),
      lockspace: new Lockspace({ log }),
      engine,
      // connected before the lockspace join, reconnected on loss: through VDSM where it
      // runs the engine VM (as the original), else mounted by the agent
      storage: storageApi
        ? vdsmStorageConnector(hostConf, setup.paths.root, setup.volumes, log, storageApi)
        : storageConnectorFor(setup.hostConf, setup.paths),
      ...(geometry ? { geometry } : {}),
    },
    ...(onReady ? { onReady } : {}),
    ...(onStatus ? { onStatus } : {}),
  });
}

/** `ovirt-ha-agent --cleanup [--force]` against the real broker and sanlock. */
export async function runCleanup(
  setup: AgentSetup,
  log: Logger,
  force: boolean,
): Promise<CleanupResult> {
  const broker = new BrokerClient(setup.paths.brokerSocket);
  try {
    return await cleanupMetadata({
      hostId: setup.hostConf.hostId,
      broker,
      lockspace: new Lockspace({ log }),
      lockspaceSpec: {
        name: HE_LOCKSPACE,
        hostId: setup.hostConf.hostId,
        path: setup.volumes.lockspace,
        offset: 0,
        ioTimeout: setup.hostConf.sanlockIoTimeout,
      },
      log,
      force,
    });
  } finally {
    broker.close();
  }
}
