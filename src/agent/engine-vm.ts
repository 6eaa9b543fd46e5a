import type { Logger } from "../common/log.js";
import { LeaseHeldError } from "../sanlock/errors.js";
import type { AcquireResult, ReleaseResult } from "../sanlock/vm-lease.js";
import type { EngineLease } from "../storage/engine-lease.js";
import type { VmConf } from "../storage/ovf/vmconf-types.js";
import type { VmLeasePort, VmPort } from "./ports.js";
import {
  fileStartFailureRecord,
  isLeaseRefusedByLibvirt,
  STORAGE_LOCKED_START_REASON,
  type StartFailureRecord,
} from "./start-failure-record.js";

interface EngineVmPorts {
  vm: VmPort;
  /** vm.conf → oVirt's leases of the engine VM (src/storage/engine-lease.ts); throws EngineLeaseError */
  resolveLeases: (vmConf: VmConf) => Promise<EngineLease[]>;
  /** the lease port for the guard (the first lease), per lease holder (lease-holder.ts) */
  leasePort: (guard: EngineLease) => VmLeasePort;
  log: Logger;
}

/**
 * A refused start is recorded for the broker's engine-health monitor: in a file of
 * `runDir` (production), or in the given record (the simulator).
 */
export type EngineVmDeps = EngineVmPorts &
  ({ runDir: string } | { startFailures: StartFailureRecord });

export type StartOutcome =
  | { started: true; lease: AcquireResult; guard: EngineLease }
  | {
      started: false;
      /** the lease is held elsewhere (another host runs or starts the VM) */
      locked: boolean;
      reason: string;
      guard: EngineLease | null;
      err: Error;
    };

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/**
 * The engine VM on this host and the lease that guards it, with one rule: the lease is
 * held exactly while the VM may run here. The agent daemon and `he-ha vm start` both go
 * through this class. Which lease: oVirt's own (engine-lease.ts), resolved from the
 * vm.conf being started; who holds it: the agent or libvirt's lock manager
 * (lease-holder.ts, through `leasePort`).
 */
export class EngineVm {
  private readonly d: EngineVmPorts;
  private readonly startFailures: StartFailureRecord;
  private current: { guard: EngineLease; port: VmLeasePort } | null = null;
  /** this process (or its orphan) holds the guard while the VM may run here */
  private held = false;
  /** why the guard could not be resolved in the loop, last time (logged once) */
  private lastGuardError: string | undefined;
  /** set by the agent daemon: a refused start leaves a waiting acquire, granted → this */
  private onLeaseGranted: (() => void) | null = null;
  /** a waiting acquire was granted and no start has used the lease yet */
  private grantedIdle = false;

  constructor(deps: EngineVmDeps) {
    this.d = deps;
    this.startFailures =
      "startFailures" in deps ? deps.startFailures : fileStartFailureRecord(deps.runDir);
  }

  /** the lease guarding the VM, once a vm.conf was resolved */
  get guard(): EngineLease | null {
    return this.current?.guard ?? null;
  }

  /**
   * Refused starts (lease held by another host) leave a waiting acquire behind, which
   * sanlock grants the moment the owner counts as dead; then `onGranted` runs (the agent
   * wakes its loop, whose state machine starts the VM, or does not: leaseWaitSettled).
   * Not for one-shot callers (`he-ha vm start`): they exit before any grant.
   */
  waitForLeaseInSanlock(onGranted: () => void): void {
    this.onLeaseGranted = onGranted;
  }

  /** a waiting acquire of the guard is in flight in sanlock */
  get leaseWaiting(): boolean {
    return this.current?.port.waiting ?? false;
  }

  /** sanlock granted a waiting acquire and no start used the lease yet */
  get leaseGrantedIdle(): boolean {
    return this.grantedIdle;
  }

  /**
   * After each agent loop. `waitWanted`: the state machine may still start the VM here
   * (engine down), so a waiting acquire goes on; otherwise (maintenance, the VM up
   * somewhere, stopping) it is given up. `releaseGranted`: a lease sanlock granted
   * before this loop and that this loop did not start the VM with is released (the
   * lease is held only while the VM may run here).
   */
  async leaseWaitSettled(o: { waitWanted: boolean; releaseGranted: boolean }): Promise<void> {
    const port = this.current?.port;
    if (!port) return;
    if (port.waiting && !o.waitWanted) port.cancelWaiting?.();
    if (this.grantedIdle && o.releaseGranted && !this.held) {
      this.grantedIdle = false;
      this.d.log.info("releasing the granted engine VM lease: the VM is not started here");
      await this.release();
    }
  }

  /** whether this process holds the guard (or adopted its orphan) */
  get leaseHeld(): boolean {
    return this.held;
  }

  /** true while the VM runs here; throws when the hypervisor cannot tell */
  isActive(): Promise<boolean> {
    return this.d.vm.isActive();
  }

  /**
   * Resolves the leases of `vmConf` and makes the first one this VM's guard. The port of
   * a held guard is kept until it is released, even if vm.conf changed meanwhile.
   */
  async prepare(vmConf: VmConf): Promise<EngineLease[]> {
    const leases = await this.d.resolveLeases(vmConf);
    const guard = leases[0]!;
    if (!this.current || (!this.held && !sameLease(this.current.guard, guard))) {
      this.current?.port.close();
      this.current = { guard, port: this.d.leasePort(guard) };
      this.d.log.info(
        {
          lease: `${guard.lockspace}:${guard.resource}`,
          path: guard.path,
          offset: guard.offset,
          source: guard.source,
        },
        `engine VM guarded by ${guard.from}`,
      );
    }
    return leases;
  }

  /**
   * Takes the guard (unless libvirt's lock manager takes it for qemu), then starts the
   * VM. A refused start is recorded for the engine-health monitor ("Storage of VM is
   * locked…" when another host holds the lease).
   */
  async start(vmConf: VmConf): Promise<StartOutcome> {
    let leases: EngineLease[];
    try {
      leases = await this.prepare(vmConf);
    } catch (e) {
      return this.refused(false, `cannot start the engine VM: ${asError(e).message}`, asError(e));
    }
    const { guard, port } = this.current!;
    let taken: AcquireResult;
    try {
      taken = await port.acquire();
      this.held = taken !== "left-to-libvirt";
      this.grantedIdle = false;
    } catch (e) {
      const locked = e instanceof LeaseHeldError;
      if (locked) this.waitInSanlock(port);
      const reason = locked
        ? STORAGE_LOCKED_START_REASON
        : `cannot take the engine VM lease ${guard.lockspace}:${guard.resource}: ${asError(e).message}`;
      return this.refused(locked, reason, asError(e));
    }
    let err = await this.tryStart(vmConf, leases);
    if (err && isLeaseRefusedByLibvirt(err.message) && (await this.lockManagerDetected(port))) {
      // the agent's own hold was in the way of libvirt's lock manager: again, without
      this.held = false;
      taken = "left-to-libvirt";
      err = await this.tryStart(vmConf, leases);
    }
    if (err) {
      const locked = isLeaseRefusedByLibvirt(err.message);
      await this.reconcile();
      return this.refused(locked, locked ? STORAGE_LOCKED_START_REASON : err.message, err);
    }
    await this.startFailures
      .clear()
      .catch((e: unknown) =>
        this.d.log.debug({ err: asError(e) }, "cannot clear the start failure record"),
      );
    return { started: true, lease: taken, guard };
  }

  /** Asks the guest to shut down; the lease is released once the VM is down (reconcile). */
  shutdown(): Promise<void> {
    return this.d.vm.shutdown();
  }

  /** Powers the VM off and releases the lease (what became of it: "kept" when it could not be released). */
  async powerOff(): Promise<ReleaseResult | "kept"> {
    await this.d.vm.powerOff();
    return this.release();
  }

  /**
   * After an agent restart: a VM running here keeps its lease (adopted from the orphan);
   * a lease left by a previous agent while the VM is not running here is released.
   */
  async adoptAtStartup(vmConf: VmConf | null): Promise<void> {
    if (vmConf === null) {
      this.d.log.warn("no vm.conf yet: cannot tell which lease guards the engine VM");
      return;
    }
    await this.prepare(vmConf);
    const port = this.current!.port;
    if (await this.d.vm.isActive()) {
      this.held = await port.adopt();
      if (!this.held) this.held = (await port.inquire()) === "held";
      this.d.log.info({ lease: this.held }, "engine VM already running here: left untouched");
      return;
    }
    if ((await port.release()) === "released")
      this.d.log.info("released the engine VM lease left by a previous agent: VM not running here");
    this.held = false;
  }

  /**
   * The rule: the lease is held exactly while the VM may run here. `known` is the VM's
   * state if the caller knows it (undefined: ask; null: the hypervisor cannot tell, so
   * the VM may still run and the lease is kept); `vmConf` the current one, to find the
   * guard when none was resolved yet.
   */
  async reconcile(known?: boolean | null, vmConf?: VmConf | null): Promise<void> {
    let firstGuard = false;
    if (!this.current && vmConf) {
      // no guard yet (no vm.conf at start-up): resolve it now, or a lease left by a
      // previous agent would never be adopted, nor released once the VM is down
      firstGuard = await this.prepare(vmConf).then(
        () => true,
        (e: unknown) => {
          // every loop retries; the same problem is logged once, a new one again
          const err = asError(e);
          if (err.message !== this.lastGuardError)
            this.d.log.warn({ err }, "cannot tell which lease guards the engine VM");
          this.lastGuardError = err.message;
          return false;
        },
      );
    }
    if (!this.current) return;
    const active =
      known !== undefined
        ? known
        : await this.d.vm.isActive().catch((e: unknown) => {
            // the hypervisor cannot tell: the VM may still run, so the lease is kept
            this.d.log.debug({ err: asError(e) }, "engine VM state unknown: lease kept");
            return null;
          });
    if (active === null) return;
    if (active && !this.held) {
      this.held = await this.current.port.adopt().catch((e: unknown) => {
        this.d.log.warn({ err: asError(e) }, "cannot adopt the engine VM lease");
        return false;
      });
    } else if (!active && (this.held || firstGuard)) {
      // held by us, or maybe an orphan of a previous agent (release adopts it first)
      await this.release();
    }
  }

  /** Closes the registration; a held lease stays with this host as an orphan. */
  async close(): Promise<void> {
    this.current?.port.close();
    await this.d.vm
      .close()
      .catch((e: unknown) =>
        this.d.log.debug({ err: asError(e) }, "closing the hypervisor connection failed"),
      );
  }

  private async release(): Promise<ReleaseResult | "kept"> {
    if (!this.current) return "not-held";
    try {
      const r = await this.current.port.release();
      this.held = false;
      if (r === "released") this.d.log.info("engine VM lease released: VM down here");
      return r;
    } catch (e) {
      this.d.log.error({ err: asError(e) }, "cannot release the engine VM lease");
      return "kept";
    }
  }

  /** leaves a waiting acquire in sanlock after a refused start (the agent's loop only) */
  private waitInSanlock(port: VmLeasePort): void {
    const onGranted = this.onLeaseGranted;
    if (!onGranted || !port.acquireWaiting || port.waiting) return;
    port.acquireWaiting().then(
      (o) => {
        if (!o.granted || this.current?.port !== port) return;
        this.grantedIdle = true;
        onGranted();
      },
      (e: unknown) =>
        this.d.log.warn({ err: asError(e) }, "the waiting engine VM lease acquire failed"),
    );
  }

  private async lockManagerDetected(port: VmLeasePort): Promise<boolean> {
    if (!port.lockManagerDetected) return false;
    try {
      return await port.lockManagerDetected();
    } catch (e) {
      this.d.log.warn({ err: asError(e) }, "cannot hand the engine VM lease to libvirt");
      return false;
    }
  }

  private async tryStart(vmConf: VmConf, leases: EngineLease[]): Promise<Error | null> {
    try {
      await this.d.vm.start(vmConf, leases);
      return null;
    } catch (e) {
      return asError(e);
    }
  }

  private async refused(
    locked: boolean,
    reason: string,
    err: Error,
  ): Promise<StartOutcome & { started: false }> {
    await this.startFailures
      .record(reason)
      .catch((e: unknown) =>
        this.d.log.error({ err: asError(e) }, "cannot record the start failure"),
      );
    return { started: false, locked, reason, guard: this.current?.guard ?? null, err };
  }
}

function sameLease(a: EngineLease, b: EngineLease): boolean {
  return (
    a.lockspace === b.lockspace &&
    a.resource === b.resource &&
    a.path === b.path &&
    a.offset === b.offset
  );
}
