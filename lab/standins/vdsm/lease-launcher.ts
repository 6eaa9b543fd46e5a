/**
 * Where the VDSM protocol server's VMs run on a lab host, as VDSM runs them on an oVirt
 * host: in the host's libvirtd (the test driver here), with the engine disk's volume
 * lease taken first as libvirt's sanlock lock driver takes it for qemu — a python3-sanlock
 * process (lab/standins/python_host.py) registers with the host's own sanlock daemon and
 * acquires the lease; it is the "qemu" sanlock knows, so the lease dies with it. A lease
 * another host holds fails the launch with libvirt's words ("Failed to acquire lock"),
 * and the VDSM server keeps the VM as Down with that message, as VDSM does.
 */
import type { HypervisorConnection } from "../../../src/libvirt/hypervisor.js";
import { type LeaseRef, PythonHost } from "../python-host.js";
import type { SanlockDaemon } from "../sanlock-daemon.js";
import type { VmLauncher } from "./fake-vdsm.js";

export interface LeaseLauncherOptions {
  /** the host's own sanlock daemon (it holds the domain's lockspace: the agent joined it) */
  sanlock: () => SanlockDaemon | undefined;
  hypervisor: HypervisorConnection;
  /** the engine disk's volume lease, as the host's VDSM reports it (Volume.getInfo) */
  lease: LeaseRef;
  /** the domain XML the VM is started from (a test-driver domain of that uuid) */
  domainXml: (vmId: string) => string;
}

export class LeaseLauncher implements VmLauncher {
  /** the lock driver's process per running VM ("qemu", as sanlock sees it) */
  private readonly holders = new Map<string, PythonHost>();

  constructor(private readonly o: LeaseLauncherOptions) {}

  async launch(vmId: string): Promise<void> {
    const sanlock = this.o.sanlock();
    if (!sanlock?.running) throw new Error("Failed to connect socket to sanlock: not running");
    const holder = PythonHost.attach(sanlock);
    const answer = await holder.acquire(this.o.lease);
    if (!answer.startsWith("ok")) {
      await holder.stop();
      // libvirt's message for a refused lease (src/locking/lock_driver_sanlock.c)
      throw new Error(`Failed to acquire lock: ${answer.replace(/^err acquire /, "")}`);
    }
    this.holders.set(vmId, holder);
    try {
      await this.o.hypervisor.startDomain(this.o.domainXml(vmId));
    } catch (e) {
      await this.release(vmId);
      throw e;
    }
  }

  async stop(vmId: string): Promise<void> {
    await this.o.hypervisor.destroyDomain(vmId).catch(() => false);
    await this.release(vmId);
  }

  /** Whether the VM still runs; a VM that is gone gives its lease back (qemu exited). */
  async running(vmId: string): Promise<boolean> {
    const up = (await this.o.hypervisor.domainState(vmId).catch(() => null))?.state === "running";
    if (!up) await this.release(vmId);
    return up;
  }

  /** The host lost its power: every "qemu" ends at once (sanlock frees nothing by itself). */
  killAll(): void {
    for (const h of this.holders.values()) h.kill();
    this.holders.clear();
  }

  private async release(vmId: string): Promise<void> {
    const h = this.holders.get(vmId);
    if (!h) return;
    this.holders.delete(vmId);
    h.kill();
    await h.stop();
  }
}
