import type { JoinResult, LeaveResult, LockspaceSpec } from "../sanlock/lockspace.js";
import type { AcquireResult, LeaseState, ReleaseResult, WaitOutcome } from "../sanlock/vm-lease.js";
import type { EngineLease } from "../storage/engine-lease.js";
import type { VmConf } from "../storage/ovf/vmconf-types.js";

/** The sanlock lockspace as the agent uses it (src/sanlock/lockspace.ts implements it). */
export interface LockspacePort {
  addLockspace(spec: LockspaceSpec): Promise<JoinResult>;
  inqLockspace(spec: LockspaceSpec): Promise<boolean>;
  remLockspace(spec: LockspaceSpec): Promise<LeaveResult>;
}

/** The engine VM's sanlock lease (src/sanlock/vm-lease.ts implements it). */
export interface VmLeasePort {
  acquire(): Promise<AcquireResult>;
  adopt(): Promise<boolean>;
  release(): Promise<ReleaseResult>;
  inquire(): Promise<LeaseState>;
  /** closes the registration; a held lease stays with this host as an orphan */
  close(): void;
  /**
   * libvirt refused a start with a lock error while the agent held the lease: when this
   * port can leave the lease to libvirt's lock manager instead, it releases it and
   * answers true (start again at once); see auto-lease.ts
   */
  lockManagerDetected?(): Promise<boolean>;
  /**
   * Asks sanlock for the lease and lets sanlock wait until a dead owner counts as dead
   * (VmLease.acquireWaiting); absent where the agent does not take the lease itself
   */
  acquireWaiting?(): Promise<WaitOutcome>;
  /** gives up a waiting acquire (VmLease.cancelWaiting) */
  cancelWaiting?(): void;
  /** true while a waiting acquire is not answered */
  readonly waiting?: boolean;
}

/** The engine VM on this host's hypervisor. */
export interface VmPort {
  /** true while the domain runs here (running, paused, ...); throws when the hypervisor is unreachable */
  isActive(): Promise<boolean>;
  /**
   * defines (from vm.conf, with its leases resolved: engine-lease.ts) and starts the
   * domain; clears a stale defined-but-off one first
   */
  start(vmConf: VmConf, leases: readonly EngineLease[]): Promise<void>;
  /** asks the guest to shut down */
  shutdown(): Promise<void>;
  /** powers the domain off at once */
  powerOff(): Promise<void>;
  close(): Promise<void>;
}
