import { mkdir, readFile, rename, rm, rmdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { runBounded } from "../../common/bounded-command.js";
import { RereadFile } from "../../common/reread-file.js";
import type {
  ConnectOutcome,
  DisconnectOutcome,
  StorageCheck,
  StorageConnector,
} from "./connector.js";
import { MountNotPermittedError, StorageConnectError } from "./errors.js";
import type { MountPlan } from "./mount-plan.js";
import { mountAt, parseMountinfo } from "./mountinfo.js";
import { verifyDomain } from "./verify.js";

/** mount.glusterfs and mount.nfs give up by themselves well before this */
export const MOUNT_TIMEOUT_MS = 60_000;
const UMOUNT_TIMEOUT_MS = 30_000;

/** What he-ha mounted, so that a disconnect unmounts only that (run dir: gone at boot). */
interface MountMarker {
  mountPoint: string;
  source: string;
  vfsType: string | null;
}

export interface MountConnectorOptions {
  plan: MountPlan;
  sdUUID: string;
  /** where the marker of what we mounted lives (the run dir) */
  stateDir: string;
  /** /proc/self/mountinfo unless told otherwise */
  mountinfo?: string;
  /** may this process mount? default: it runs as root */
  mayMount?: boolean;
}

/**
 * Connects a file storage domain by mounting it where VDSM would (MountPlan), for hosts
 * where VDSM does not: reuses a mount that is already there (VDSM's, an admin's, ours),
 * never mounts twice, verifies `dom_md/metadata` names the configured sdUUID before
 * anyone uses it, and unmounts only what it mounted itself, only when asked.
 */
export class MountConnector implements StorageConnector {
  private readonly plan: MountPlan;
  private readonly markerFile: string;
  private readonly mountinfo: string;
  /** kept open: the agent looks at its mounts every loop */
  private readonly mountinfoFile: RereadFile;
  /** the last text read and whether the mount point was in it */
  private lastMountinfo: { text: string; mounted: boolean } | undefined;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: MountConnectorOptions) {
    this.plan = o.plan;
    this.markerFile = path.join(o.stateDir, "storage-connection.json");
    this.mountinfo = o.mountinfo ?? "/proc/self/mountinfo";
    this.mountinfoFile = new RereadFile(this.mountinfo);
  }

  get description(): string {
    return `${this.plan.domainType} ${this.plan.source} at ${this.plan.mountPoint}`;
  }

  get domainDir(): string {
    return this.plan.domainDir;
  }

  /** One operation at a time in this process (the agent's loop and a signal handler). */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.busy.then(f, f);
    this.busy = next.catch(() => undefined);
    return next;
  }

  private async mounted(): Promise<boolean> {
    const text = await this.mountinfoFile.read();
    // the mounts seldom change: the same text is not parsed again
    if (this.lastMountinfo?.text !== text)
      this.lastMountinfo = {
        text,
        mounted: mountAt(parseMountinfo(text), this.plan.mountPoint) !== undefined,
      };
    return this.lastMountinfo.mounted;
  }

  private async marker(): Promise<MountMarker | null> {
    try {
      return JSON.parse(await readFile(this.markerFile, "utf8")) as MountMarker;
    } catch {
      return null;
    }
  }

  /** true when the mount at the mount point is one he-ha made */
  async ours(): Promise<boolean> {
    const m = await this.marker();
    return m?.mountPoint === this.plan.mountPoint && m.source === this.plan.source;
  }

  check(): Promise<StorageCheck> {
    return this.look();
  }

  private async look(): Promise<StorageCheck> {
    try {
      if (!(await this.mounted()))
        return { state: "missing", why: `nothing mounted at ${this.plan.mountPoint}` };
    } catch (e) {
      return { state: "unreachable", why: `${this.mountinfo}: ${(e as Error).message}` };
    }
    return verifyDomain(this.plan.domainDir, this.o.sdUUID);
  }

  connect(opts: { remountUnreachable?: boolean } = {}): Promise<ConnectOutcome> {
    return this.serial(() => this.connectNow(opts.remountUnreachable === true));
  }

  private async connectNow(remountUnreachable: boolean): Promise<ConnectOutcome> {
    let remounted = false;
    const seen = await this.look();
    if (seen.state === "ok") return "already-connected";
    if (seen.state === "wrong-domain")
      throw new StorageConnectError(`${this.description}: ${seen.why}`);
    if (seen.state === "unreachable" || (seen.state === "missing" && (await this.mounted()))) {
      if (!remountUnreachable || !(await this.ours()))
        throw new StorageConnectError(`${this.description}: mounted, but ${seen.why}`);
      this.needMount();
      // a FUSE mount of ours whose client is gone answers ENOTCONN for ever: detach it
      await this.umount(["-l"]);
      remounted = true;
    }
    this.needMount();
    await mkdir(this.plan.mountPoint, { recursive: true });
    const [cmd, ...args] = this.plan.argv;
    const r = await runBounded(cmd!, args, MOUNT_TIMEOUT_MS, new AbortController().signal);
    if (r.code !== 0) {
      await rmdir(this.plan.mountPoint).catch(() => undefined);
      const why =
        r.code === null ? `no answer within ${MOUNT_TIMEOUT_MS / 1000} s` : r.stderr.trim();
      throw new StorageConnectError(`${this.plan.argv.join(" ")}: ${why || `exit ${r.code}`}`);
    }
    await this.writeMarker();
    const after = await this.look();
    if (after.state !== "ok") {
      // not the domain hosted-engine.conf names: take our mount away again before anyone uses it
      await this.umount([]).catch(() => undefined);
      await rm(this.markerFile, { force: true });
      throw new StorageConnectError(`${this.description}: ${after.why}`);
    }
    return remounted ? "remounted" : "mounted";
  }

  private needMount(): void {
    if (this.o.mayMount ?? process.getuid?.() === 0) return;
    throw new MountNotPermittedError(
      `${this.description}: not mounted, and only root may mount it (uid ${process.getuid?.()}); the agent's unit mounts it with ExecStartPre=+he-ha storage connect`,
    );
  }

  disconnect(): Promise<DisconnectOutcome> {
    return this.serial(async () => {
      if (!(await this.mounted())) {
        await rm(this.markerFile, { force: true });
        return "not-connected";
      }
      if (!(await this.ours())) return "not-ours";
      await this.umount([]);
      await rm(this.markerFile, { force: true });
      await rmdir(this.plan.mountPoint).catch(() => undefined);
      return "unmounted";
    });
  }

  private async umount(flags: string[]): Promise<void> {
    const args = [...flags, this.plan.mountPoint];
    const r = await runBounded("umount", args, UMOUNT_TIMEOUT_MS, new AbortController().signal);
    if (r.code !== 0)
      throw new StorageConnectError(
        `umount ${args.join(" ")}: ${r.code === null ? "no answer" : r.stderr.trim() || `exit ${r.code}`}`,
      );
  }

  private async writeMarker(): Promise<void> {
    const m: MountMarker = {
      mountPoint: this.plan.mountPoint,
      source: this.plan.source,
      vfsType: this.plan.vfsType,
    };
    await mkdir(path.dirname(this.markerFile), { recursive: true });
    const tmp = `${this.markerFile}.tmp`;
    await writeFile(tmp, `${JSON.stringify(m)}\n`);
    await rename(tmp, this.markerFile);
  }
}
