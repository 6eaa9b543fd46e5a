import { BrokerClient } from "../broker/client.js";
import { type AgentConf, loadAgentConf } from "../common/agent-conf.js";
import { type HostConfig, hostConfigFrom, loadHostConfig } from "../common/host-config.js";
import type { Logger } from "../common/log.js";
import { type HaPaths, haPaths } from "../common/paths.js";
import { doctorAtStart } from "../doctor/agent-start.js";
import { Lockspace } from "../sanlock/lockspace.js";
import { HE_LOCKSPACE } from "../sanlock/names.js";
import { VmLease } from "../sanlock/vm-lease.js";
import { storageConnectorFor } from "../storage/connect/index.js";
import { type HaVolumes, haVolumes } from "../storage/domain.js";
import {
  type DomainGeometry,
  domainGeometryFor,
  geometryThroughVdsm,
} from "../storage/domain-geometry.js";
import type { EngineLease } from "../storage/engine-lease.js";
import type { VmConf } from "../storage/ovf/vmconf-types.js";
import type { SectorGeometry } from "../storage/sector-geometry.js";
import { lookupXlease } from "../storage/xleases.js";
import type { VdsmApi } from "../vdsm/api.js";
import { localVdsmApi } from "../vdsm/backend-choice.js";
import { findOvfStoresThroughVdsm, volumeLeaseThroughVdsm } from "../vdsm/domain-content.js";
import { AutoDetectingLease } from "./auto-lease.js";
import {
  type VmBackendChoice,
  vdsmPortIfChosen,
  vdsmStorageConnector,
  vmBackendFor,
} from "./backend.js";
import { type CleanupResult, cleanupMetadata } from "./cleanup.js";
import { AgentDaemon } from "./daemon.js";
import { EngineVm } from "./engine-vm.js";
import { publishedHostname } from "./hostname.js";
import { killScriptPath } from "./kill-path.js";
import { type LeaseHolderChoice, leaseHolderFor } from "./lease-holder.js";
import { LibvirtHeldLease } from "./libvirt-held-lease.js";
import { domainTypeFor, hostHasKvm, LibvirtVm } from "./libvirt-vm.js";
import type { VmLeasePort } from "./ports.js";
import { withTimeouts } from "./vm-timeouts.js";

export interface AgentSetup {
  paths: HaPaths;
  hostConf: HostConfig;
  agentConf: AgentConf;
  volumes: HaVolumes;
  /** the hostname published in this host's block (see publishedHostname) */
  hostname?: string;
  /** who takes the engine VM's lease (see lease-holder.ts); agent when unset */
  leaseHolder?: LeaseHolderChoice;
  /** libvirt domain type of the engine VM (see domainTypeFor); from the URI when unset */
  domainType?: "test" | "kvm" | "qemu";
  /** who runs the engine VM (see backend.ts); libvirt when unset */
  vmBackend?: VmBackendChoice;
  /** the domain's sector geometry (see domainGeometryFor); sanlock's defaults when unset */
  geometry?: DomainGeometry;
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
  const leaseHolder = await leaseHolderFor(hostConf, paths.root);
  const domainType = domainTypeFor(hostConf.libvirtUri, await hostHasKvm());
  const vmBackend = await vmBackendFor(hostConf, paths.root);
  const geometry = domainGeometryFor(volumes);
  return {
    paths,
    hostConf,
    agentConf,
    volumes,
    hostname,
    leaseHolder,
    domainType,
    vmBackend,
    geometry,
  };
}

/** The port of the engine VM's guard lease for the chosen holder (see lease-holder.ts). */
export function vmLeasePort(
  guard: EngineLease,
  choice: LeaseHolderChoice,
  hostId: number,
  log: Logger,
  killPath?: { path: string; args: string[] },
  geometry?: SectorGeometry,
): VmLeasePort {
  if (choice.holder === "libvirt") return new LibvirtHeldLease();
  const own = new VmLease(
    {
      lockspace: guard.lockspace,
      resource: guard.resource,
      path: guard.path,
      offset: guard.offset,
      hostId,
      ...(geometry ? { geometry } : {}),
    },
    { log, ...(killPath ? { killPath } : {}) },
  );
  return choice.detect ? new AutoDetectingLease(own, log) : own;
}

/**
 * oVirt's leases of the engine VM from a vm.conf, on this host's storage domain. With
 * `vdsm` (VDSM hosts) a disk's volume lease is where VDSM's Volume.getInfo says, never
 * computed here; VM leases are looked up in the domain's xleases volume.
 */
export function leaseResolver(
  setup: Pick<AgentSetup, "hostConf" | "volumes">,
  source: string,
  vdsm?: VdsmApi,
): (vmConf: VmConf) => Promise<EngineLease[]> {
  const { hostConf, volumes } = setup;
  // loaded when leases are resolved (a VM start), not at start-up: see domainXml below
  return async (vmConf) =>
    (await import("../storage/engine-lease.js")).resolveEngineLeases(
      vmConf,
      {
        domainDir: volumes.domain,
        sdUUID: hostConf.sdUUID,
        vmConfSource: source,
        xleases: volumes.xleases,
      },
      lookupXlease,
      vdsm ? (img, vol) => volumeLeaseThroughVdsm(vdsm, hostConf, img, vol) : undefined,
    );
}

/** The engine VM on this host's libvirt, its domain XML built from vm.conf and its leases. */
export function libvirtEngineVm(
  setup: Pick<AgentSetup, "hostConf" | "volumes" | "domainType">,
  log: Logger,
  /** the agent's run directory: a VM started here is recorded there (started-record.ts) */
  runDir?: string,
): LibvirtVm {
  const { hostConf, volumes } = setup;
  const domainType = setup.domainType ?? domainTypeFor(hostConf.libvirtUri);
  return new LibvirtVm({
    uri: hostConf.libvirtUri,
    vmId: hostConf.vmId,
    // loaded on the first start of the VM, not at start-up: the XML library it uses is
    // memory every agent would otherwise carry for an event of a few times a month
    domainXml: async (vmConf, leases) =>
      (await import("../libvirt/domain-xml.js")).domainXmlFromVmConf(vmConf, {
        domainType,
        domainDir: volumes.domain,
        bridge: hostConf.bridge,
        leases,
      }),
    log,
    ...(runDir !== undefined ? { runDir } : {}),
  });
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
  const killPath = { path: killScriptPath(setup.paths.runDir), args: [] };
  // VDSM hosts: the engine VM through VDSM (backend.ts), which resolves its leases and
  // starts it through libvirt, whose lock manager takes them for qemu
  const vdsm = vdsmPortIfChosen(setup.vmBackend, hostConf, setup.paths.root, log);
  const holder: LeaseHolderChoice = vdsm
    ? {
        holder: "libvirt",
        why: "VDSM starts the engine VM: libvirt's lock manager takes its lease",
      }
    : leaseHolder;
  // one VDSM connection for the storage calls (connect, Image.prepare, Volume.getInfo)
  const vdsmStorageApi = vdsm ? localVdsmApi(hostConf, setup.paths.root, log) : undefined;
  // the domain's sector geometry: VDSM's StorageDomain.getInfo where VDSM runs
  const geometry = vdsmStorageApi
    ? domainGeometryFor(setup.volumes, geometryThroughVdsm(vdsmStorageApi, hostConf.sdUUID))
    : setup.geometry;
  const engine = new EngineVm({
    vm: withTimeouts(vdsm ?? libvirtEngineVm(setup, log, setup.paths.runDir), {
      queryMs: 5000,
      actionMs: 60_000,
    }),
    resolveLeases: leaseResolver(setup, "vm.conf", vdsmStorageApi),
    // made after the lockspace join, when the domain's geometry is known
    leasePort: (guard) =>
      vmLeasePort(guard, holder, hostConf.hostId, log, killPath, geometry?.current),
    runDir: setup.paths.runDir,
    log,
  });
  // he-ha doctor's findings as warnings once the cluster has been watched a while
  const t = setup.agentConf.timing;
  doctorAtStart(setup.paths.brokerSocket, log, t.host_alive_timeout + 2 * t.loop_delay);
  return new AgentDaemon({
    ...setup,
    log,
    broker: new BrokerClient(setup.paths.brokerSocket, { timeoutMs: 30_000 }),
    lockspace: new Lockspace({ log }),
    engine,
    ...(geometry ? { geometry } : {}),
    ...(onReady ? { onReady } : {}),
    // connected before the lockspace join, reconnected on loss: through VDSM where it
    // runs the engine VM (as the original), else mounted by the agent
    storage: vdsmStorageApi
      ? vdsmStorageConnector(hostConf, setup.paths.root, setup.volumes, log, vdsmStorageApi)
      : storageConnectorFor(setup.hostConf, setup.paths),
    ...(onStatus ? { onStatus } : {}),
    // VDSM hosts find the OVF_STORE as the original does: through VDSM, on file and
    // block domains alike (a block domain has no directory to scan)
    ...(vdsmStorageApi
      ? { ovfStores: () => findOvfStoresThroughVdsm(vdsmStorageApi, hostConf, log) }
      : {}),
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
