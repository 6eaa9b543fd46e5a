import { execFile } from "node:child_process";
import type { Logger } from "../common/log.js";
import { Lockspace } from "../sanlock/lockspace.js";
import { HE_LOCKSPACE, lockspaceString } from "../sanlock/names.js";
import type { BrokerLockspace } from "./service.js";

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
    });
  }

  reset(): Promise<void> {
    const args = [
      "direct",
      "init",
      "-o",
      String(this.opts.ioTimeout),
      "-s",
      lockspaceString(HE_LOCKSPACE, 0, this.opts.path, 0),
    ];
    const bin = this.opts.sanlockBin ?? "sanlock";
    return new Promise((resolve, reject) => {
      execFile(bin, args, { timeout: 120_000 }, (err, stdout, stderr) => {
        if (err || !/init done 0/.test(stdout)) {
          const why = (stderr || stdout || err?.message || "").trim();
          reject(new LockspaceResetError(`${bin} ${args.join(" ")} failed: ${why}`));
          return;
        }
        this.opts.log.info(
          { path: this.opts.path, out: stdout.trim() },
          "lockspace re-initialised",
        );
        resolve();
      });
    });
  }
}
