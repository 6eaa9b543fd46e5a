import type { Logger } from "../common/log.js";
import { SanlockError } from "../sanlock/errors.js";
import { Errno } from "../sanlock/native.js";
import type { AcquireResult, LeaseState, ReleaseResult, WaitOutcome } from "../sanlock/vm-lease.js";
import { LibvirtHeldLease } from "./libvirt-held-lease.js";
import type { VmLeasePort } from "./ports.js";

/**
 * The engine VM lease when `vm_lease_holder=auto` could not tell from qemu.conf that
 * libvirt's sanlock lock manager is on (qemu.conf unreadable to the agent's user, or in
 * a container without it): the agent takes the lease itself, until libvirt refuses a
 * start with a lock error while the agent holds the lease. Nobody else can hold it
 * then, so the refusal is libvirt's lock manager wanting the same lease for qemu: the
 * agent releases it and leaves it to libvirt from then on (lockManagerDetected).
 */
export class AutoDetectingLease implements VmLeasePort {
  private current: VmLeasePort;
  private switched = false;

  constructor(
    private readonly agentLease: VmLeasePort,
    private readonly log: Logger,
  ) {
    this.current = agentLease;
  }

  acquire(): Promise<AcquireResult> {
    return this.current.acquire();
  }

  /**
   * A VM running here whose lease another process on this host holds (EEXIST): after an
   * agent restart, that is qemu holding it through libvirt's lock manager.
   */
  async adopt(): Promise<boolean> {
    try {
      return await this.current.adopt();
    } catch (e) {
      if (this.switched || !(e instanceof SanlockError) || e.rv !== -Errno.EEXIST) throw e;
      this.switchToLibvirt("the running engine VM's lease is held by another process here");
      return true;
    }
  }

  release(): Promise<ReleaseResult> {
    return this.current.release();
  }

  /** the agent's lease waits in sanlock; libvirt's lock manager takes its own */
  acquireWaiting(): Promise<WaitOutcome> {
    return this.current.acquireWaiting
      ? this.current.acquireWaiting()
      : this.current.acquire().then(() => ({ granted: true }) as const);
  }

  cancelWaiting(): void {
    this.current.cancelWaiting?.();
  }

  get waiting(): boolean {
    return this.current.waiting ?? false;
  }

  inquire(): Promise<LeaseState> {
    return this.current.inquire();
  }

  async lockManagerDetected(): Promise<boolean> {
    if (this.switched || (await this.agentLease.inquire()) !== "held") return false;
    await this.agentLease.release();
    this.switchToLibvirt("libvirt refused the start while this agent held the engine VM lease");
    return true;
  }

  private switchToLibvirt(evidence: string): void {
    this.current = new LibvirtHeldLease();
    this.switched = true;
    this.log.warn(
      { lease_holder: "libvirt", evidence },
      "libvirt's sanlock lock manager is on: leaving the lease to libvirt from now on " +
        "(set vm_lease_holder=libvirt to skip this)",
    );
  }

  close(): void {
    this.agentLease.close();
  }
}
