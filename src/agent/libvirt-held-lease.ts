import type { AcquireResult, LeaseState, ReleaseResult } from "../sanlock/vm-lease.js";
import type { VmLeasePort } from "./ports.js";

/**
 * The engine VM lease when libvirt's sanlock lock manager holds it (lease holder
 * `libvirt`, see lease-holder.ts): libvirt acquires the domain XML's `<lease>` for the
 * qemu process as the VM starts, and sanlock releases it when qemu exits. The agent
 * takes nothing itself; a start refused because another host holds the lease fails in
 * libvirt ("Failed to acquire lock"), which the agent reports as storage locked.
 */
export class LibvirtHeldLease implements VmLeasePort {
  /** nothing to take before the start: libvirt takes the lease for qemu */
  async acquire(): Promise<AcquireResult> {
    return "left-to-libvirt";
  }

  /** a VM running here runs with its lease: qemu holds it */
  async adopt(): Promise<boolean> {
    return true;
  }

  /** sanlock released it when qemu exited */
  async release(): Promise<ReleaseResult> {
    return "not-held";
  }

  /** the agent never holds it */
  async inquire(): Promise<LeaseState> {
    return "not-held";
  }

  close(): void {}
}
