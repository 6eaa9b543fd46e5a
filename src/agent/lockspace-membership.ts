import type { Logger } from "../common/log.js";
import type { SectorGeometry } from "../common/sector-geometry.js";
import { LockspaceIdConflictError } from "../sanlock/errors.js";
import type { LockspaceSpec } from "../sanlock/lockspace.js";
import type { LockspacePort } from "./ports.js";

/**
 * This host's membership of the sanlock lockspaces the agent holds (agentLockspaces:
 * `hosted-engine`, then the storage domain's), with one rule: the agent leaves only
 * what it joined itself (a lockspace VDSM or a previous agent joined is shared and left
 * to its owner). `join` at start, `check` every loop (rejoins a lost one), `leave` on
 * exit (the storage domain's first: it holds the engine VM's lease). Shaped like
 * EngineVm: the daemon decides when, this owner knows how.
 */
export class LockspaceMembership {
  /** lockspaces this agent joined (left on exit) */
  private readonly joinedByUs = new Set<string>();
  private heldAll = false;

  constructor(
    private readonly port: LockspacePort,
    private specs: readonly LockspaceSpec[],
    private readonly log: Logger,
  ) {}

  /** Every later sanlock call on these lockspaces carries the domain's sector geometry. */
  useGeometry(geometry: SectorGeometry): void {
    this.specs = this.specs.map((spec) => ({ ...spec, geometry }));
  }

  /** true once every lockspace was joined (or found joined), until `leave` */
  get held(): boolean {
    return this.heldAll;
  }

  /**
   * Joins every lockspace; false when one cannot be joined now (logged; try again later).
   * Throws LockspaceIdConflictError when sanlock holds another host id here (fatal).
   */
  async join(): Promise<boolean> {
    for (const spec of this.specs) if (!(await this.joinOne(spec))) return false;
    this.heldAll = true;
    return true;
  }

  /** Checks every lockspace and rejoins one that was lost; false while one is missing. */
  async check(): Promise<boolean> {
    for (const spec of this.specs) {
      try {
        if (await this.port.inqLockspace(spec)) continue;
        this.log.warn({ lockspace: spec.name }, "sanlock lockspace lost: rejoining");
      } catch (e) {
        this.log.error(
          { err: e as Error, lockspace: spec.name },
          "cannot inquire the sanlock lockspace: rejoining",
        );
      }
      if (!(await this.rejoin(spec))) return false;
    }
    this.heldAll = true;
    return true;
  }

  /** Joins one lockspace again (after it was lost). */
  rejoin(spec: LockspaceSpec): Promise<boolean> {
    return this.joinOne(spec);
  }

  /** Leaves what this agent joined, the storage domain's first; never throws. */
  async leave(): Promise<void> {
    if (!this.heldAll) return;
    try {
      for (const spec of [...this.specs].reverse()) await this.leaveOne(spec);
    } finally {
      this.heldAll = false;
    }
  }

  private async joinOne(spec: LockspaceSpec): Promise<boolean> {
    try {
      const r = await this.port.addLockspace(spec);
      if (r === "joined") this.joinedByUs.add(spec.name);
      this.log.info(
        {
          lockspace: spec.name,
          path: spec.path,
          result: r,
          shared: !this.joinedByUs.has(spec.name),
        },
        r === "joined" || this.joinedByUs.has(spec.name)
          ? "sanlock lockspace joined"
          : "sanlock lockspace already joined on this host (VDSM or a previous agent): shared, left to its owner",
      );
      return true;
    } catch (e) {
      if (e instanceof LockspaceIdConflictError) throw e;
      this.heldAll = false;
      this.log.error(
        { err: e as Error, lockspace: spec.name, path: spec.path },
        "cannot join the sanlock lockspace, will retry",
      );
      return false;
    }
  }

  private async leaveOne(spec: LockspaceSpec): Promise<void> {
    if (!this.joinedByUs.has(spec.name)) return;
    try {
      const r = await this.port.remLockspace(spec);
      this.log.info(
        { lockspace: spec.name, result: r },
        r === "busy" ? "lockspace kept: the engine VM runs here with its lease" : "lockspace left",
      );
    } catch (e) {
      this.log.error(
        { err: e as Error, lockspace: spec.name },
        "cannot leave the sanlock lockspace",
      );
    }
  }
}
