import type { HostConfig } from "../common/host-config.js";
import type { Logger } from "../common/log.js";
import type { HaPaths } from "../common/paths.js";
import type { SectorGeometry } from "../common/sector-geometry.js";
import { VmLease } from "../sanlock/vm-lease.js";
import type { HaVolumes } from "../storage/domain.js";
import type { DomainGeometry } from "../storage/domain-geometry.js";
import type { EngineLease } from "../storage/engine-lease.js";
import type { VmConf } from "../storage/ovf/vmconf-types.js";
import { lookupXlease } from "../storage/xleases.js";
import type { VdsmApi } from "../vdsm/api.js";
import { localVdsmApi, vdsmClientOptions } from "../vdsm/backend-choice.js";
import { volumeLeaseThroughVdsm } from "../vdsm/domain-content.js";
import { VdsmVm } from "../vdsm/vdsm-vm.js";
import { AutoDetectingLease } from "./auto-lease.js";
import { LIBVIRT, type VmBackendChoice, vmBackendFor } from "./backend.js";
import { EngineVm } from "./engine-vm.js";
import { killScriptPath } from "./kill-path.js";
import { type LeaseHolderChoice, leaseHolderFor } from "./lease-holder.js";
import { LibvirtHeldLease } from "./libvirt-held-lease.js";
import { domainTypeFor, hostHasKvm, LibvirtVm } from "./libvirt-vm.js";
import type { VmLeasePort } from "./ports.js";
import { withTimeouts } from "./vm-timeouts.js";

/** What building the engine VM of this host needs (loadAgentSetup and `he-ha vm` both have it). */
export interface EngineVmSetup {
  paths: HaPaths;
  hostConf: HostConfig;
  volumes: HaVolumes;
  /** who takes the engine VM's lease (see lease-holder.ts); agent when unset */
  leaseHolder?: LeaseHolderChoice;
  /** libvirt domain type of the engine VM (see domainTypeFor); from the URI when unset */
  domainType?: "test" | "kvm" | "qemu";
  /** who runs the engine VM (see backend.ts); libvirt when unset */
  vmBackend?: VmBackendChoice;
  /** the domain's sector geometry (see domainGeometryFor); sanlock's defaults when unset */
  geometry?: DomainGeometry;
}

/** The host's choices for the engine VM: lease holder, domain type, backend (each logged by its reader). */
export async function engineVmChoices(
  hostConf: HostConfig,
  root: string,
): Promise<Required<Pick<EngineVmSetup, "leaseHolder" | "domainType" | "vmBackend">>> {
  return {
    leaseHolder: await leaseHolderFor(hostConf, root),
    domainType: domainTypeFor(hostConf.libvirtUri, await hostHasKvm()),
    vmBackend: await vmBackendFor(hostConf, root),
  };
}

/** The limits every engine VM call runs under, for the agent and `he-ha vm` alike. */
export const ENGINE_VM_TIMEOUTS = { queryMs: 5000, actionMs: 60_000 } as const;

/** The engine VM of a host, and the backend it runs through (the CLI reads its state there). */
export type HostEngineVm = {
  engine: EngineVm;
  /** the lease holder in effect (libvirt's lock manager on VDSM hosts) */
  holder: LeaseHolderChoice;
  /**
   * VDSM hosts: the VDSM connection of the storage calls (the engine disk's lease through
   * Volume.getInfo here; the agent's storage connection and OVF_STORE look-up too)
   */
  storageApi?: VdsmApi;
} & ({ backend: "vdsm"; vm: VdsmVm } | { backend: "libvirt"; vm: LibvirtVm });

/**
 * THE way an engine VM of this host is built, for ovirt-ha-agent (createAgent) and for
 * `he-ha vm`: the backend by the host's choice (VDSM, whose libvirt lock manager then
 * takes the lease, or libvirt directly), every call bounded (ENGINE_VM_TIMEOUTS), oVirt's
 * leases resolved from the vm.conf being started (`vmConfSource` names it in errors), the
 * guard lease through the chosen holder with sanlock's kill path (kill-path.ts) when the
 * agent holds it, refused starts recorded in the run directory for engine-health.
 * `caller: "cli"`: VDSM's start skips the agent's clean-up of a stale VM, as
 * hosted-engine --vm-start does.
 */
export function engineVmFor(
  setup: EngineVmSetup,
  log: Logger,
  opts: {
    vmConfSource: string;
    caller: "agent" | "cli";
    /** VDSM hosts: the connection of the storage calls (default: a new one for the agent) */
    storageApi?: VdsmApi;
  },
): HostEngineVm {
  const { hostConf, paths } = setup;
  const choice = setup.vmBackend ?? LIBVIRT;
  log.info(
    { vm_backend: choice.backend, reason: choice.why },
    choice.backend === "vdsm"
      ? "engine VM backend: VDSM (JSON-RPC on localhost)"
      : "engine VM backend: libvirt",
  );
  const holder: LeaseHolderChoice =
    choice.backend === "vdsm"
      ? {
          holder: "libvirt",
          why: "VDSM starts the engine VM: libvirt's lock manager takes its lease",
        }
      : (setup.leaseHolder ?? { holder: "agent", why: "default" });
  const killPath = { path: killScriptPath(paths.runDir), args: [] };
  const common = (storageApi?: VdsmApi) => ({
    resolveLeases: leaseResolver(setup, opts.vmConfSource, storageApi),
    // made after the lockspace join, when the domain's geometry is known
    leasePort: (guard: EngineLease) =>
      vmLeasePort(guard, holder, hostConf.hostId, log, killPath, setup.geometry?.current),
    runDir: paths.runDir,
    log,
  });
  if (choice.backend === "vdsm") {
    const vm = new VdsmVm({
      vmId: hostConf.vmId,
      log,
      client: vdsmClientOptions(hostConf, paths.root),
      runDir: paths.runDir,
      ...(opts.caller === "cli" ? { agentCleanup: false } : {}),
    });
    // the CLI asks on the VM's own connection; the agent keeps one of its own for storage
    const storageApi =
      opts.storageApi ?? (opts.caller === "cli" ? vm.api : localVdsmApi(hostConf, paths.root, log));
    const engine = new EngineVm({
      vm: withTimeouts(vm, ENGINE_VM_TIMEOUTS),
      ...common(storageApi),
    });
    return { engine, holder, backend: "vdsm", vm, storageApi };
  }
  const vm = libvirtEngineVm(setup, log, paths.runDir);
  const engine = new EngineVm({ vm: withTimeouts(vm, ENGINE_VM_TIMEOUTS), ...common() });
  return { engine, holder, backend: "libvirt", vm };
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
  setup: Pick<EngineVmSetup, "hostConf" | "volumes">,
  source: string,
  vdsm?: VdsmApi,
): (vmConf: VmConf) => Promise<EngineLease[]> {
  const { hostConf, volumes } = setup;
  // loaded when leases are resolved (a VM start), not at start-up: see libvirtEngineVm
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
  setup: Pick<EngineVmSetup, "hostConf" | "volumes" | "domainType">,
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
