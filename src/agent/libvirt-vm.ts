import { access } from "node:fs/promises";
import type { Logger } from "../common/log.js";
import { HypervisorConnection } from "../libvirt/hypervisor.js";
import type { EngineLease } from "../storage/engine-lease.js";
import type { VmConf } from "../storage/ovf/vmconf-types.js";
import type { VmPort } from "./ports.js";
import { clearStartedHere, recordStartedHere } from "./started-record.js";

export interface LibvirtVmOptions {
  uri: string;
  /** the engine VM uuid */
  vmId: string;
  /** vm.conf → libvirt domain XML (with its leases, disks resolved in the domain) */
  domainXml: (vmConf: VmConf, leases: readonly EngineLease[]) => string | Promise<string>;
  log: Logger;
  /**
   * the agent's run directory: start records the VM there as started here, shutdown and
   * power off forget it (see src/broker/monitors/started-here.ts); no record without it
   */
  runDir?: string;
}

/** Whether a libvirt URI is libvirt's test driver (`test:///default`, `test+unix://...`). */
export function isTestDriverUri(uri: string): boolean {
  return /^test(\+[a-z]+)?:/.test(uri);
}

/**
 * The domain type for a libvirt URI: `test` for the test driver; for QEMU, `kvm` when
 * the host has KVM, else `qemu` (software emulation: slow, but it runs).
 */
export function domainTypeFor(uri: string, hasKvm = true): "test" | "kvm" | "qemu" {
  if (isTestDriverUri(uri)) return "test";
  return hasKvm ? "kvm" : "qemu";
}

/** Whether this host has KVM (`/dev/kvm`); the engine VM runs on this host's libvirt. */
export async function hostHasKvm(devKvm = "/dev/kvm"): Promise<boolean> {
  return access(devKvm).then(
    () => true,
    () => false,
  );
}

const INACTIVE = new Set(["shutoff", "crashed", "nostate"]);

/** The engine VM on this host's libvirt (VmPort). */
export class LibvirtVm implements VmPort {
  readonly hypervisor: HypervisorConnection;
  private readonly o: LibvirtVmOptions;

  constructor(opts: LibvirtVmOptions) {
    this.o = opts;
    this.hypervisor = new HypervisorConnection(opts.uri, opts.log);
  }

  async isActive(): Promise<boolean> {
    const s = await this.hypervisor.domainState(this.o.vmId);
    return s !== null && !INACTIVE.has(s.state);
  }

  async start(vmConf: VmConf, leases: readonly EngineLease[]): Promise<void> {
    const r = await this.hypervisor.startDomain(await this.o.domainXml(vmConf, leases));
    if (this.o.runDir !== undefined) await recordStartedHere(this.o.runDir, this.o.vmId);
    if (r === "already-running")
      this.o.log.warn({ vm: this.o.vmId }, "engine VM was already running here");
  }

  async shutdown(): Promise<void> {
    await this.forget();
    if (!(await this.hypervisor.shutdownDomain(this.o.vmId))) {
      this.o.log.info({ vm: this.o.vmId }, "engine VM does not exist here: nothing to shut down");
    }
  }

  async powerOff(): Promise<void> {
    await this.forget();
    if (!(await this.hypervisor.destroyDomain(this.o.vmId))) {
      this.o.log.info({ vm: this.o.vmId }, "engine VM does not exist here: nothing to power off");
    }
  }

  async close(): Promise<void> {
    await this.hypervisor.close();
  }

  /** a stop on purpose: the VM's disappearance is no crash */
  private async forget(): Promise<void> {
    if (this.o.runDir !== undefined) await clearStartedHere(this.o.runDir);
  }
}
