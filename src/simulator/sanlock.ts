import type { LockspacePort, VmLeasePort } from "../agent/ports.js";
import { LeaseHeldError } from "../sanlock/errors.js";
import type { JoinResult, LeaveResult, LockspaceSpec } from "../sanlock/lockspace.js";
import type { AcquireResult, LeaseState, ReleaseResult } from "../sanlock/vm-lease.js";
import type { VirtualScheduler } from "./scheduler.js";

/** sanlock's -EAGAIN for a resource held by a live host (as the real VmLease reports it). */
const EAGAIN = -11;

/** One host's sanlock daemon: which lockspaces it holds, with which generation. */
interface HostDaemon {
  running: boolean;
  /** lockspace name → generation of our delta lease there */
  held: Map<string, number>;
  joining: Set<string>;
  /** last successful delta lease renewal (virtual seconds) */
  lastRenewal: number;
  /** called when the kill path fires (the resources' owners must die) */
  onKill: (() => void) | null;
}

interface ResourceOwner {
  hostId: number;
  generation: number;
}

export interface SimSanlockOptions {
  /** sanlock's io_timeout, seconds (10 by default) */
  ioTimeout: number;
  /** grant every resource lease, held or not (only to show that the invariant checks catch it) */
  ignoreResourceOwners?: boolean;
}

/**
 * A model of sanlock over the shared storage, for the simulator: delta leases renewed
 * every 2 × io_timeout while a host reaches the storage; a host is dead for the others
 * 8 × io_timeout + 60 s (the watchdog's fire timeout) after its last renewal; a host that
 * cannot renew for 8 × io_timeout runs the kill path (the holders of its resource
 * leases die, its lockspaces are lost); an exclusive resource lease is refused while
 * its owner is alive, free once the owner is dead or rejoined with a new generation.
 */
export class SimSanlock {
  private readonly hosts = new Map<number, HostDaemon>();
  /** lockspace → host id → generation on disk */
  private readonly generations = new Map<string, Map<number, number>>();
  /** "lockspace:resource" → owner on disk */
  private readonly resources = new Map<string, ResourceOwner>();
  /** hosts that reach the shared storage */
  private readonly storageOk = new Map<number, boolean>();

  constructor(
    private readonly sched: VirtualScheduler,
    private readonly opts: SimSanlockOptions,
    private readonly event: (hostId: number, text: string) => void,
  ) {}

  get renewalSeconds(): number {
    return 2 * this.opts.ioTimeout;
  }

  /** seconds without renewal after which the host's own daemon runs the kill path */
  get renewalFailSeconds(): number {
    return 8 * this.opts.ioTimeout;
  }

  /** seconds without renewal after which the others consider the host dead */
  get hostDeadSeconds(): number {
    return 8 * this.opts.ioTimeout + 60;
  }

  /** Starts the host's sanlock daemon (boot). */
  startDaemon(hostId: number, onKill: () => void): void {
    const d: HostDaemon = {
      running: true,
      held: new Map(),
      joining: new Set(),
      // the delta lease on disk keeps its last renewal until the host joins again
      lastRenewal: this.hosts.get(hostId)?.lastRenewal ?? this.sched.now,
      onKill,
    };
    this.hosts.set(hostId, d);
    if (!this.storageOk.has(hostId)) this.storageOk.set(hostId, true);
    const stop = this.sched.every(this.renewalSeconds, () => {
      if (!d.running) return stop();
      this.renew(hostId, d);
    });
  }

  /** The host lost power: nothing renews, nothing is released on disk. */
  crash(hostId: number): void {
    const d = this.hosts.get(hostId);
    if (!d) return;
    d.running = false;
    d.held.clear();
    d.joining.clear();
  }

  setStorage(hostId: number, ok: boolean): void {
    this.storageOk.set(hostId, ok);
    const d = this.hosts.get(hostId);
    if (ok && d?.running && d.held.size > 0) this.renew(hostId, d);
  }

  /** Whether `hostId`'s delta lease in `lockspace` is still alive for the others. */
  isAlive(hostId: number): boolean {
    const d = this.hosts.get(hostId);
    if (!d) return false;
    return this.sched.now - d.lastRenewal <= this.hostDeadSeconds;
  }

  holds(hostId: number, lockspace: string): boolean {
    return this.hosts.get(hostId)?.held.has(lockspace) ?? false;
  }

  /** The owner of a resource lease on disk, if any. */
  owner(lockspace: string, resource: string): ResourceOwner | undefined {
    return this.resources.get(`${lockspace}:${resource}`);
  }

  private renew(hostId: number, d: HostDaemon): void {
    // nothing held: nothing renewed on disk (a dead host stays dead)
    if (d.held.size === 0) return;
    if (this.storageOk.get(hostId)) {
      d.lastRenewal = this.sched.now;
      return;
    }
    if (this.sched.now - d.lastRenewal >= this.renewalFailSeconds) {
      const names = [...d.held.keys()].join(", ");
      d.held.clear();
      this.event(
        hostId,
        `sanlock: delta lease renewal failed for ${this.renewalFailSeconds} s: kill path, lockspaces ${names} lost`,
      );
      d.onKill?.();
    }
  }

  /** The LockspacePort of one host's agent. */
  lockspacePort(hostId: number): LockspacePort {
    return {
      addLockspace: (spec) => this.addLockspace(hostId, spec),
      inqLockspace: async (spec) => this.holds(hostId, spec.name),
      remLockspace: async (spec) => this.remLockspace(hostId, spec),
    };
  }

  private async addLockspace(hostId: number, spec: LockspaceSpec): Promise<JoinResult> {
    const d = this.daemon(hostId);
    if (d.held.has(spec.name)) return "already-joined";
    if (!this.storageOk.get(hostId)) throw new Error(`add_lockspace ${spec.name}: -5 (EIO)`);
    d.joining.add(spec.name);
    // acquiring a delta lease: read, wait, read again (about 2 × io_timeout)
    await this.sched.sleep(this.renewalSeconds * 1000);
    d.joining.delete(spec.name);
    if (!d.running) throw new Error(`add_lockspace ${spec.name}: sanlock daemon gone`);
    if (!this.storageOk.get(hostId)) throw new Error(`add_lockspace ${spec.name}: -5 (EIO)`);
    const gens = this.generations.get(spec.name) ?? new Map<number, number>();
    this.generations.set(spec.name, gens);
    const gen = (gens.get(hostId) ?? 0) + 1;
    gens.set(hostId, gen);
    d.held.set(spec.name, gen);
    d.lastRenewal = this.sched.now;
    return "joined";
  }

  private async remLockspace(hostId: number, spec: LockspaceSpec): Promise<LeaveResult> {
    const d = this.daemon(hostId);
    const gen = d.held.get(spec.name);
    if (gen === undefined) return "not-joined";
    for (const [key, o] of this.resources) {
      if (key.startsWith(`${spec.name}:`) && o.hostId === hostId && o.generation === gen)
        return "busy";
    }
    d.held.delete(spec.name);
    return "left";
  }

  private daemon(hostId: number): HostDaemon {
    const d = this.hosts.get(hostId);
    if (!d?.running) throw new Error(`sanlock daemon of host ${hostId} is not running`);
    return d;
  }

  /** Frees whatever `hostId` holds in `lockspace` on disk (its holder process died cleanly). */
  releaseAll(hostId: number): void {
    for (const [key, o] of [...this.resources]) if (o.hostId === hostId) this.resources.delete(key);
  }

  /** The VmLeasePort of one host's engine VM lease. */
  vmLeasePort(hostId: number, lockspace: string, resource: string): VmLeasePort {
    const key = `${lockspace}:${resource}`;
    const mine = (): boolean => {
      const o = this.resources.get(key);
      const gen = this.hosts.get(hostId)?.held.get(lockspace);
      return o !== undefined && o.hostId === hostId && o.generation === gen;
    };
    return {
      acquire: async (): Promise<AcquireResult> => {
        const gen = this.daemon(hostId).held.get(lockspace);
        if (gen === undefined)
          throw new Error(`acquire ${key}: lockspace ${lockspace} not joined (-ENOSPC)`);
        if (mine()) return "already-held";
        const o = this.resources.get(key);
        if (
          o &&
          o.hostId !== hostId &&
          this.ownerLive(lockspace, o) &&
          !this.opts.ignoreResourceOwners
        )
          throw new LeaseHeldError(resource, EAGAIN, o.hostId);
        this.resources.set(key, { hostId, generation: gen });
        return "acquired";
      },
      adopt: async () => mine(),
      release: async (): Promise<ReleaseResult> => {
        if (!mine()) return "not-held";
        this.resources.delete(key);
        return "released";
      },
      inquire: async (): Promise<LeaseState> => (mine() ? "held" : "not-held"),
      close: () => {},
    };
  }

  /** An owner is live while its host is alive and still in the generation it acquired with. */
  private ownerLive(lockspace: string, o: ResourceOwner): boolean {
    if (!this.isAlive(o.hostId)) return false;
    const current = this.generations.get(lockspace)?.get(o.hostId);
    return current === o.generation;
  }
}
