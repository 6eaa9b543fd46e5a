import { BrokerClient } from "../broker/client.js";
import { type AgentConf, loadAgentConf } from "../common/agent-conf.js";
import { type HostConfig, hostConfigFrom, loadHostConfig } from "../common/host-config.js";
import type { Logger } from "../common/log.js";
import { type HaPaths, haPaths } from "../common/paths.js";
import { domainXmlFromVmConf } from "../libvirt/domain-xml.js";
import { Lockspace } from "../sanlock/lockspace.js";
import { VM_LEASE_OFFSET, VmLease } from "../sanlock/vm-lease.js";
import { storageConnectorFor } from "../storage/connect/index.js";
import { haVolumes } from "../storage/domain.js";
import { AutoDetectingLease } from "./auto-lease.js";
import { type CleanupResult, cleanupMetadata } from "./cleanup.js";
import { AgentDaemon, LOCKSPACE_NAME } from "./daemon.js";
import { publishedHostname } from "./hostname.js";
import { killScriptPath } from "./kill-path.js";
import { type LeaseHolderChoice, leaseHolderFor } from "./lease-holder.js";
import { LibvirtHeldLease } from "./libvirt-held-lease.js";
import { domainTypeFor, hostHasKvm, LibvirtVm } from "./libvirt-vm.js";
import type { VmLeasePort } from "./ports.js";

export interface AgentSetup {
  paths: HaPaths;
  hostConf: HostConfig;
  agentConf: AgentConf;
  volumes: { domain: string; metadata: string; lockspace: string; conf: string };
  /** the hostname published in this host's block (see publishedHostname) */
  hostname?: string;
  /** who takes the engine VM's lease (see lease-holder.ts); agent when unset */
  leaseHolder?: LeaseHolderChoice;
  /** libvirt domain type of the engine VM (see domainTypeFor); from the URI when unset */
  domainType?: "test" | "kvm" | "qemu";
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
  const volumes = haVolumes(hostConf, paths.mountRoot);
  const hostname = await publishedHostname(hostConf, paths.root);
  const leaseHolder = await leaseHolderFor(hostConf, paths.root);
  const domainType = domainTypeFor(hostConf.libvirtUri, await hostHasKvm());
  return { paths, hostConf, agentConf, volumes, hostname, leaseHolder, domainType };
}

/** The engine VM lease port for the chosen holder (see lease-holder.ts). */
function vmLeaseFor(setup: AgentSetup, choice: LeaseHolderChoice, log: Logger): VmLeasePort {
  if (choice.holder === "libvirt") return new LibvirtHeldLease();
  const { hostConf, volumes } = setup;
  const own = new VmLease(
    {
      lockspace: LOCKSPACE_NAME,
      vmId: hostConf.vmId,
      path: volumes.lockspace,
      offset: VM_LEASE_OFFSET,
      hostId: hostConf.hostId,
    },
    { log, killPath: { path: killScriptPath(setup.paths.runDir), args: [] } },
  );
  return choice.detect ? new AutoDetectingLease(own, log) : own;
}

/** The agent daemon wired to the real broker socket, sanlock and libvirt. */
export function createAgent(
  setup: AgentSetup,
  log: Logger,
  onReady?: () => void,
  onStatus?: (text: string) => void,
): AgentDaemon {
  const { hostConf, volumes } = setup;
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
  return new AgentDaemon({
    ...setup,
    log,
    broker: new BrokerClient(setup.paths.brokerSocket, { timeoutMs: 30_000 }),
    lockspace: new Lockspace({ log }),
    vmLease: vmLeaseFor(setup, leaseHolder, log),
    vm: new LibvirtVm({
      uri: hostConf.libvirtUri,
      vmId: hostConf.vmId,
      domainXml: (vmConf) =>
        domainXmlFromVmConf(vmConf, {
          domainType,
          domainDir: volumes.domain,
          bridge: hostConf.bridge,
          lease: {
            lockspace: LOCKSPACE_NAME,
            key: hostConf.vmId,
            path: volumes.lockspace,
            offset: VM_LEASE_OFFSET,
          },
        }),
      log,
    }),
    ...(onReady ? { onReady } : {}),
    // issue 12: connected before the lockspace join, reconnected on loss
    storage: storageConnectorFor(setup.hostConf, setup.paths),
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
        name: LOCKSPACE_NAME,
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
