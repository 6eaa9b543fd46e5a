import type { Logger } from "../common/log.js";
import { directInitLockspace } from "../sanlock/direct-init.js";
import { Lockspace } from "../sanlock/lockspace.js";
import { HE_LOCKSPACE } from "../sanlock/names.js";
import type { DomainGeometry } from "../storage/domain-geometry.js";
import type { BrokerLockspace } from "./env.js";

export class LockspaceResetError extends Error {
  override name = "LockspaceResetError";
}

export interface SanlockLockspaceOptions {
  hostId: number;
  /** the lockspace volume */
  path: string;
  /** sanlock I/O timeout written at re-initialisation (hosted-engine.conf sanlock_io_timeout) */
  ioTimeout: number;
  log: Logger;
  /** the sanlock executable (default "sanlock" on PATH) */
  sanlockBin?: string;
  /** the domain's sector geometry: resolved before a re-initialisation writes anything */
  geometry?: DomainGeometry;
}

/**
 * The broker's view of lockspace `hosted-engine` (behaviour.md §12): whether this host
 * holds its id (inq_lockspace through libsanlock, off the event loop), and its
 * re-initialisation with `sanlock direct init -s hosted-engine:0:<volume>:0` (the CLI
 * calls reset_lockspace only after its safety checks). The agent joins and leaves.
 */
export class SanlockLockspace implements BrokerLockspace {
  private readonly ls: Lockspace;

  constructor(private readonly opts: SanlockLockspaceOptions) {
    this.ls = new Lockspace({ log: opts.log });
  }

  holdsHostId(): Promise<boolean> {
    return this.ls.inqLockspace({
      name: HE_LOCKSPACE,
      hostId: this.opts.hostId,
      path: this.opts.path,
      offset: 0,
      ...(this.opts.geometry?.current ? { geometry: this.opts.geometry.current } : {}),
    });
  }

  async reset(): Promise<void> {
    try {
      const geometry = await this.opts.geometry?.resolve();
      await directInitLockspace(HE_LOCKSPACE, this.opts.path, 0, this.opts.ioTimeout, {
        ...(this.opts.sanlockBin ? { sanlock: this.opts.sanlockBin } : {}),
        ...(geometry ? { geometry } : {}),
      });
    } catch (e) {
      throw new LockspaceResetError((e as Error).message, { cause: e });
    }
    this.opts.log.info({ path: this.opts.path }, "lockspace re-initialised");
  }
}
