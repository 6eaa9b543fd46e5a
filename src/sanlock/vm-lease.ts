/**
 * The engine VM's exclusive sanlock resource lease, held by the agent itself (lease
 * holder `agent`, src/agent/lease-holder.ts): oVirt's own lease of the engine VM, as
 * src/storage/engine-lease.ts resolves it from vm.conf — normally the engine disk's
 * volume lease, resource `<volume uuid>` in lockspace `<sdUUID>` on
 * `<domain>/images/<image>/<volume>.lease` at offset 0. It is the resource a Python host's
 * libvirt lock manager takes for qemu, so both kinds of host contend for one lock. It is
 * held exactly as long as the VM may run on this host.
 *
 * On hosts where libvirt's sanlock lock manager is on (qemu.conf lock_manager =
 * "sanlock", as VDSM configures oVirt hosts) libvirt registers the qemu process and
 * acquires the domain XML's <lease> before the guest CPUs start; sanlock refuses a second
 * exclusive holder even on the same host, so there the agent takes nothing itself (lease
 * holder `libvirt`, libvirt-held-lease.ts).
 *
 * Our lease is acquired with SANLK_RES_PERSISTENT by this process's registered
 * connection: when the agent exits (restart, crash) the lease is not released but kept
 * by the daemon as an orphan, still owned by this host on disk; the next agent adopts it
 * with SANLK_ACQUIRE_ORPHAN. The lockspace is marked USED_BY_ORPHANS when joined, so
 * the host's delta lease cannot be dropped while the orphan exists. Keep the instance
 * (and so the registration fd) for the agent's whole life.
 */
import type { Logger } from "../common/log.js";
import type { SectorGeometry } from "../common/sector-geometry.js";
import { LeaseHeldError, SanlockError } from "./errors.js";
import { resourceString } from "./names.js";
import {
  callAsync,
  Errno,
  type HostValue,
  type ResourceValue,
  resourceValue,
  SANLK_ACQUIRE_LVB,
  SANLK_ACQUIRE_ORPHAN_ONLY,
  SANLK_ACQUIRE_OWNER_NOWAIT,
  SANLK_RES_PERSISTENT,
  SanlockRv,
  sanlockNative,
} from "./native.js";
import { geometryFlags } from "./sector-flags.js";

export interface VmLeaseSpec {
  /** the storage domain UUID (the lockspace joined on dom_md/ids) */
  lockspace: string;
  /** the resource: the engine disk's volume UUID (or the VM UUID for a VM lease) */
  resource: string;
  /** the lease file (`<volume>.lease`, or dom_md/xleases) */
  path: string;
  offset: number;
  /** this host's id in the lockspace */
  hostId: number;
  /** the domain's sector size and alignment (absent: sanlock reads the leader's) */
  geometry?: SectorGeometry;
}

export interface KillPath {
  /** program sanlock runs (instead of SIGTERM) when this host must give the lease up */
  path: string;
  args: string[];
}

export interface VmLeaseOptions {
  log: Logger;
  /**
   * When the lockspace fails (storage lost), sanlock must stop whoever holds the lease.
   * By default it signals this process (SIGTERM, later SIGKILL). A kill path lets it
   * run a program instead, e.g. one that destroys the engine VM on this host.
   */
  killPath?: KillPath;
}

export type AcquireResult = "acquired" | "adopted" | "already-held" | "left-to-libvirt";

/**
 * How a waiting acquire ended: granted, refused (the owner is alive, or another host
 * took the lease meanwhile: LeaseHeldError is not thrown here), or given up by
 * cancelWaiting() (sanlock releases the lease itself if it grants it afterwards).
 */
export type WaitOutcome =
  | { granted: true }
  | { granted: false; cancelled: boolean; rv: number; ownerHostId: number | null };
export type ReleaseResult = "released" | "not-held";
export type LeaseState = "held" | "not-held";

export interface LeaseOwner {
  hostId: number;
  generation: number;
  timestamp: number;
}

/** return codes meaning "another host has it" */
const HELD_ELSEWHERE = new Set<number>([
  -Errno.EAGAIN,
  SanlockRv.ACQUIRE_IDLIVE,
  SanlockRv.ACQUIRE_OWNED,
  SanlockRv.ACQUIRE_OTHER,
  SanlockRv.ACQUIRE_SHRETRY,
  SanlockRv.ACQUIRE_OWNED_RETRY,
]);

/** return codes meaning our registered connection to the daemon is gone */
const CONNECTION_LOST = new Set<number>([
  -1,
  -Errno.EPIPE,
  -Errno.ECONNRESET,
  -Errno.ENOTCONN,
  -Errno.ECONNREFUSED,
]);

const SANLK_HELPER_LEN = 128;

/**
 * Registrations with the daemon open in this process. A waiting acquire is sent on its
 * own connection and names its registration by this process's pid; the daemon picks
 * the first registration with that pid, so it waits only while there is exactly one.
 */
let openRegistrations = 0;

export class VmLease {
  readonly spec: VmLeaseSpec;
  private readonly log: Logger;
  private readonly killPath: KillPath | undefined;
  private sock = -1;
  private heldByUs = false;
  private queue: Promise<unknown> = Promise.resolve();
  /** a waiting acquire sanlock has not answered yet */
  private waitingCall: { done: Promise<WaitOutcome>; cancelled: boolean } | null = null;

  constructor(spec: VmLeaseSpec, opts: VmLeaseOptions) {
    this.spec = spec;
    this.log = opts.log;
    this.killPath = opts.killPath;
    if (opts.killPath) checkKillPath(opts.killPath);
  }

  /** `<lockspace>:<resource>:<path>:<offset>` as sanlock prints it */
  get resourceString(): string {
    const { lockspace, resource, path, offset } = this.spec;
    return resourceString(lockspace, resource, path, offset);
  }

  /**
   * Takes the lease for this process: adopts this host's orphan if there is one,
   * otherwise acquires it. Never waits for another host's lease to expire: if another
   * host holds it (or held it and is not yet known dead), LeaseHeldError.
   */
  acquire(): Promise<AcquireResult> {
    if (this.waitingCall)
      // sanlock is still deciding on our waiting acquire (acquireWaiting)
      return Promise.reject(new LeaseHeldError(this.resourceString, SanlockRv.ACQUIRE_OWNED, null));
    return this.serialized(async () => {
      if (this.heldByUs && (await this.heldByThisProcess())) return "already-held";
      if (await this.adoptOrphan()) return "adopted";
      const rv = await this.acquireRaw(SANLK_ACQUIRE_OWNER_NOWAIT);
      if (rv === 0) {
        this.heldByUs = true;
        this.log.info({ resource: this.resourceString }, "engine VM lease acquired");
        return "acquired";
      }
      throw await this.acquireError(rv);
    });
  }

  /** Adopts this host's orphaned lease (left by a previous agent); false when none. */
  adopt(): Promise<boolean> {
    return this.serialized(() => this.adoptOrphan());
  }

  /** Releases the lease, whether this process or an orphan holds it. */
  release(): Promise<ReleaseResult> {
    if (this.waitingCall) {
      // nothing held yet: give the waiting acquire up instead
      this.cancelWaiting();
      return Promise.resolve("not-held");
    }
    return this.serialized(async () => {
      if (!this.heldByUs && !(await this.adoptOrphan())) return "not-held";
      const sock = await this.registered();
      const rv = await callAsync(sanlockNative().release, sock, -1, 0, 1, [this.resource(0)]);
      this.heldByUs = false;
      if (rv === 0) {
        this.log.info({ resource: this.resourceString }, "engine VM lease released");
        return "released";
      }
      if (CONNECTION_LOST.has(rv)) this.dropConnection();
      if (rv === -Errno.ENOENT) return "not-held";
      throw new SanlockError("release", rv, this.resourceString);
    });
  }

  /** "held" when this host holds the lease: this process, or an orphan on this host. */
  inquire(): Promise<LeaseState> {
    return this.serialized(async () => {
      if (this.heldByUs && (await this.heldByThisProcess())) return "held";
      const owner = await this.readOwner();
      if (owner === null || owner.hostId !== this.spec.hostId) return "not-held";
      const generation = await this.ownGeneration();
      return generation !== null && generation === owner.generation ? "held" : "not-held";
    });
  }

  /** The current exclusive owner as written on the storage, or null when free. */
  owner(): Promise<LeaseOwner | null> {
    return this.serialized(() => this.readOwner());
  }

  /** This host's generation in the lease's lockspace; null when not joined. */
  generation(): Promise<number | null> {
    return this.serialized(() => this.ownGeneration());
  }

  /**
   * Closes the registration. A held lease is not released: it stays with this host as
   * an orphan until a new process adopts or releases it.
   */
  close(): void {
    // a waiting acquire ends with the registration (see cancelWaiting)
    if (this.waitingCall) this.waitingCall.cancelled = true;
    if (this.sock >= 0) {
      sanlockNative().closeFd(this.sock);
      this.sock = -1;
      openRegistrations--;
    }
    this.heldByUs = false;
  }

  /** true while a waiting acquire (acquireWaiting) has not been answered by sanlock */
  get waiting(): boolean {
    return this.waitingCall !== null;
  }

  /**
   * Asks sanlock for the lease *without* SANLK_ACQUIRE_OWNER_NOWAIT, as libvirt's lock
   * driver and python3-sanlock do: when another host owns it and that host's delta lease
   * stops being renewed, sanlock itself waits and grants the lease the moment the owner
   * counts as dead (`other_host_dead_seconds` after this host's daemon last saw the
   * owner renew), instead of our caller finding out at its next poll. The call runs on
   * a koffi worker thread; nothing of ours waits on it but the returned promise.
   *
   * Resolves `{granted: true}` when this process holds the lease (persistent, like
   * acquire()), or `{granted: false}` when sanlock refused (the owner is alive, or
   * another host took it first) or the wait was given up (cancelWaiting). Adopts this
   * host's orphan and answers at once when the lease is already ours. When a second
   * sanlock registration is open in this process the daemon could not tell ours from
   * it: then it does one acquire() with OWNER_NOWAIT instead (the caller polls).
   */
  async acquireWaiting(): Promise<WaitOutcome> {
    if (this.waitingCall) return this.waitingCall.done;
    const first = await this.serialized(async () => {
      if (this.heldByUs && (await this.heldByThisProcess())) return "held" as const;
      if (await this.adoptOrphan()) return "held" as const;
      await this.registered();
      return openRegistrations === 1 ? ("wait" as const) : ("poll" as const);
    });
    if (first === "held") return { granted: true };
    if (first === "poll") {
      this.log.debug(
        { resource: this.resourceString, registrations: openRegistrations },
        "another sanlock registration in this process: acquiring without waiting",
      );
      return this.acquire().then(
        () => ({ granted: true }) as const,
        (e: unknown) => {
          if (e instanceof LeaseHeldError)
            return { granted: false, cancelled: false, rv: e.rv, ownerHostId: e.ownerHostId };
          throw e;
        },
      );
    }
    // a second caller may have started one while we adopted/registered
    const started = this.waitingCall as { done: Promise<WaitOutcome> } | null;
    if (started) return started.done;
    const call = { done: null as unknown as Promise<WaitOutcome>, cancelled: false };
    call.done = this.waitOnce(call).finally(() => {
      if (this.waitingCall === call) this.waitingCall = null;
    });
    this.waitingCall = call;
    return call.done;
  }

  /**
   * Gives up a waiting acquire: closes this process's registration, which sanlock sees
   * at once (the acquire itself travels on another connection). The daemon cannot stop
   * a waiting acquire midway; when it ends it finds the registration dead and, if it
   * was granted, releases the lease on disk itself (sanlock's cmd_acquire, "pid is
   * dead"). Until then a new acquire of this lease here is refused with EEXIST. The
   * pending promise settles when the daemon answers, with `cancelled: true`.
   */
  cancelWaiting(): void {
    if (!this.waitingCall) return;
    this.waitingCall.cancelled = true;
    this.log.info(
      { resource: this.resourceString },
      "giving up the waiting engine VM lease acquire",
    );
    this.close();
  }

  private async waitOnce(call: { cancelled: boolean }): Promise<WaitOutcome> {
    this.log.info(
      { resource: this.resourceString },
      "waiting for sanlock to grant the engine VM lease",
    );
    // sock -1 + our pid: a new connection for the command, so the registration stays
    // watched by the daemon (cancelWaiting) and its other calls are not held up by it
    let rv = -Errno.EBUSY;
    // EBUSY: the daemon took a registration of ours that was just closed (cancelWaiting)
    // and still waits for its own acquire for ours; it sees the close within moments
    for (let attempt = 0; rv === -Errno.EBUSY && attempt < 20 && !call.cancelled; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      rv = await callAsync(
        sanlockNative().acquire,
        -1,
        process.pid,
        0,
        1,
        [this.resource(SANLK_RES_PERSISTENT)],
        null,
      );
    }
    if (rv === 0 && !call.cancelled) {
      this.heldByUs = true;
      this.log.info({ resource: this.resourceString }, "engine VM lease granted by sanlock");
      return { granted: true };
    }
    if (rv === 0) {
      // granted just before the daemon saw the registration close: it keeps the
      // persistent lease as this host's orphan, so adopt and release it
      this.heldByUs = true;
      await this.release().catch((e: unknown) =>
        this.log.error({ err: e as Error }, "cannot release the lease granted after giving up"),
      );
      return { granted: false, cancelled: true, rv, ownerHostId: null };
    }
    let ownerHostId: number | null = null;
    if (HELD_ELSEWHERE.has(rv))
      ownerHostId = await this.readOwner().then(
        (o) => o?.hostId ?? null,
        () => null,
      );
    else if (rv !== 0 && !call.cancelled)
      throw new SanlockError("acquire (wait)", rv, this.resourceString);
    return { granted: false, cancelled: call.cancelled, rv, ownerHostId };
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    // the caller gets the failure through `run`; the queue only orders the next call
    this.queue = run.catch(() => undefined);
    return run;
  }

  private resource(flags: number): ResourceValue {
    const { lockspace, resource, path, offset, geometry } = this.spec;
    return resourceValue(lockspace, resource, path, offset, flags | geometryFlags(geometry));
  }

  private async registered(): Promise<number> {
    if (this.sock >= 0) return this.sock;
    const native = sanlockNative();
    const sock = await callAsync(native.register);
    if (sock < 0) throw new SanlockError("register", sock, "is the sanlock daemon running?");
    if (this.killPath) {
      const args = this.killPath.args.map((a) => a.replaceAll(" ", "\\ ")).join(" ");
      const rv = await callAsync(native.killpath, sock, 0, this.killPath.path, args);
      if (rv < 0) {
        native.closeFd(sock);
        throw new SanlockError("killpath", rv, this.killPath.path);
      }
    }
    this.sock = sock;
    openRegistrations++;
    return sock;
  }

  private dropConnection(): void {
    this.log.warn({ resource: this.resourceString }, "lost the registration with sanlock");
    this.close();
  }

  /**
   * One acquire call. EEXIST means the daemon still counts the lease as held by a
   * registration of ours that is closing (it orphans it asynchronously): ask again.
   */
  private async acquireRaw(flags: number): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const sock = await this.registered();
      const rv = await callAsync(
        sanlockNative().acquire,
        sock,
        -1,
        flags,
        1,
        [this.resource(SANLK_RES_PERSISTENT)],
        null,
      );
      if (CONNECTION_LOST.has(rv)) this.dropConnection();
      if (rv !== -Errno.EEXIST || attempt >= 20) return rv;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private async adoptOrphan(): Promise<boolean> {
    // sanlock 3.8 tests "orphan only" as `cmd_flags & 1` (the LVB bit) before creating a
    // new lock, so without LVB an "adopt" of a missing orphan acquires the lease afresh.
    // With LVB set it answers ENOENT as documented; an adopted orphan never reads the LVB.
    const rv = await this.acquireRaw(
      SANLK_ACQUIRE_ORPHAN_ONLY | SANLK_ACQUIRE_LVB | SANLK_ACQUIRE_OWNER_NOWAIT,
    );
    if (rv === 0) {
      this.heldByUs = true;
      this.log.info({ resource: this.resourceString }, "adopted the orphaned engine VM lease");
      return true;
    }
    if (rv === -Errno.ENOENT || HELD_ELSEWHERE.has(rv) || CONNECTION_LOST.has(rv)) return false;
    throw new SanlockError("acquire (orphan)", rv, this.resourceString);
  }

  private async acquireError(rv: number): Promise<Error> {
    if (!HELD_ELSEWHERE.has(rv)) return new SanlockError("acquire", rv, this.resourceString);
    let ownerHostId: number | null = null;
    try {
      ownerHostId = (await this.readOwner())?.hostId ?? null;
    } catch {
      ownerHostId = null;
    }
    return new LeaseHeldError(this.resourceString, rv, ownerHostId);
  }

  private async heldByThisProcess(): Promise<boolean> {
    const sock = await this.registered();
    const count = [0];
    const state: (string | null)[] = [null];
    const rv = await callAsync(sanlockNative().inquire, sock, -1, 0, count, state);
    if (rv < 0) {
      if (CONNECTION_LOST.has(rv)) this.dropConnection();
      this.heldByUs = false;
      return false;
    }
    const held = (state[0] ?? "")
      .split(" ")
      .some((r) => r.startsWith(`${this.spec.lockspace}:${this.spec.resource}:`));
    this.heldByUs = held;
    return held;
  }

  private async readOwner(): Promise<LeaseOwner | null> {
    const native = sanlockNative();
    const hosts: unknown[] = [null];
    const count = [0];
    const rv = await callAsync(native.readResourceOwners, this.resource(0), 0, hosts, count);
    const owners = native.takeHosts(hosts[0], count[0] ?? 0);
    if (rv < 0) throw new SanlockError("read_resource_owners", rv, this.resourceString);
    const owner = owners.find((h) => Number(h.timestamp) !== 0);
    return owner ? toOwner(owner) : null;
  }

  /**
   * This host's current generation in the lockspace. Right after a join the daemon
   * answers EAGAIN for a few seconds; then we ask again, and give up with null.
   */
  private async ownGeneration(): Promise<number | null> {
    const native = sanlockNative();
    for (let attempt = 0; attempt < 10; attempt++) {
      const hosts: unknown[] = [null];
      const count = [0];
      const rv = await callAsync(
        native.getHosts,
        this.spec.lockspace,
        this.spec.hostId,
        hosts,
        count,
        0,
      );
      const found = native.takeHosts(hosts[0], count[0] ?? 0);
      if (rv === -Errno.EAGAIN) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      if (rv < 0) return null;
      const me = found.find((h) => Number(h.host_id) === this.spec.hostId);
      return me ? Number(me.generation) : null;
    }
    return null;
  }
}

function toOwner(h: HostValue): LeaseOwner {
  return {
    hostId: Number(h.host_id),
    generation: Number(h.generation),
    timestamp: Number(h.timestamp),
  };
}

function checkKillPath(k: KillPath): void {
  const args = k.args.map((a) => a.replaceAll(" ", "\\ ")).join(" ");
  if (k.path.length >= SANLK_HELPER_LEN || args.length >= SANLK_HELPER_LEN) {
    throw new Error(
      `sanlock kill path and its arguments must each be shorter than ${SANLK_HELPER_LEN} characters: ${k.path} ${args}`,
    );
  }
}
