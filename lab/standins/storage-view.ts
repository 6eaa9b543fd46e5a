/**
 * A lab host's own path to the shared storage domain: a FUSE passthrough
 * filesystem (lab/standins/storage-view-fs.py, python3-fuse) mounted on a directory private
 * to the host, one helper process per host, tracked by pid. Through it the host can lose
 * write access (`cutWrites`) or all access (`cutAll`) to the domain while the other hosts,
 * which reach the same directory directly or through their own views, keep theirs.
 *
 * Why FUSE: every process here runs as root (chmod changes nothing) and a read-only bind
 * remount fails with EBUSY while sanlock and the broker hold the volumes open for writing.
 *
 * Failure model: a cut answers EIO by default, which is what a SAN path loss (multipath
 * with no path left) or an unreachable NFS server (soft mount, after its retries) gives
 * sanlock's and the broker's I/O; EROFS is available for "the export went read-only".
 * Sanlock handles both alike: each renewal write fails at once ("renewal error -5"), and
 * 8 × io_timeout after the last good renewal the lockspace fails and sanlock kills the
 * holders of its resource leases (SIGTERM, or their kill path). Other hosts see the host
 * FAIL after about 8 × io_timeout and DEAD, so that they may take its leases, only after
 * 8 × io_timeout + 60 s (sanlock 3.8's fixed watchdog fire timeout: 68 s with io_timeout
 * 1); see test/standins/storage-view-sanlock.test.ts. Reads keep working under `cutWrites`, so the host still sees the
 * whiteboard; `cutAll` fails reads as well (getattr of the view's root still answers).
 *
 * Every open is served uncached (FUSE direct_io), so O_DIRECT opens work and this view
 * never hides what other hosts wrote. Absolute symlinks that point into the source are
 * shown pointing into the view.
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, realpath, rm } from "node:fs/promises";
import { createConnection } from "node:net";
import { dirname, join } from "node:path";
import koffi from "koffi";
import { labFile } from "../paths.js";
import {
  isRunning,
  pollUntil,
  runCommand,
  signalChild,
  spawnTracked,
  type TrackedChild,
  waitExit,
} from "./processes.js";

export type CutErrno = "EIO" | "EROFS";
export type StorageViewMode = "ok" | "writes-cut" | "all-cut";

export interface StorageViewStatus {
  mode: StorageViewMode;
  /** the errno a refused operation gets */
  errno: CutErrno;
}

export interface StorageViewOptions {
  /** the shared storage domain directory */
  source: string;
  /** the host's private directory to mount the view on (created if missing) */
  mountpoint: string;
  /** the helper's log (appended); its control socket goes in the same directory */
  logFile: string;
  /** Python with python3-fuse (default /usr/bin/python3, Debian's) */
  python?: string;
  /** how long to wait for the mount (default 10 s) */
  startTimeoutMs?: number;
}

/** sun_path holds 108 bytes with the terminating NUL */
const MAX_SOCKET_PATH = 107;

/** mounted views, lazily detached if this process exits without unmounting them */
const mounted = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const MNT_DETACH = 2;
  const umount2 = koffi.load("libc.so.6").func("int umount2(const char *target, int flags)");
  process.on("exit", () => {
    for (const mountpoint of mounted) umount2(mountpoint, MNT_DETACH);
  });
}

/** the helper program: lab/standins/storage-view-fs.py of this checkout (from sources and from dist/) */
function helperPath(): string {
  const file = labFile("standins", "storage-view-fs.py");
  if (!existsSync(file)) throw new Error(`storage view helper not found at ${file}`);
  return file;
}

/** Whether `mountpoint` (an absolute, resolved path) is a mount point of this process. */
export async function isMountPoint(mountpoint: string): Promise<boolean> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  return text
    .split("\n")
    .some((line) => unescapeMountinfo(line.split(" ")[4] ?? "") === mountpoint);
}

function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export class StorageView {
  readonly source: string;
  readonly mountpoint: string;
  readonly logFile: string;
  private readonly proc: TrackedChild;
  private readonly control: string;

  private constructor(
    source: string,
    mountpoint: string,
    logFile: string,
    proc: TrackedChild,
    control: string,
  ) {
    this.source = source;
    this.mountpoint = mountpoint;
    this.logFile = logFile;
    this.proc = proc;
    this.control = control;
  }

  /** Mounts a view of `source` on `mountpoint`; resolves once it serves requests. */
  static async mount(opts: StorageViewOptions): Promise<StorageView> {
    const source = await realpath(opts.source);
    await mkdir(opts.mountpoint, { recursive: true });
    const mountpoint = await realpath(opts.mountpoint);
    if (await isMountPoint(mountpoint)) {
      throw new Error(`storage view: ${mountpoint} is already a mount point`);
    }
    await mkdir(dirname(opts.logFile), { recursive: true });
    installExitHook();
    const control = join(dirname(opts.logFile), `.storage-view-${randomUUID().slice(0, 8)}.sock`);
    if (Buffer.byteLength(control) > MAX_SOCKET_PATH) {
      throw new Error(
        `storage view: control socket path too long (> ${MAX_SOCKET_PATH}): ${control}`,
      );
    }
    const proc = await spawnTracked(
      opts.python ?? "/usr/bin/python3",
      [helperPath(), "--source", source, "--mountpoint", mountpoint, "--control", control],
      { logFile: opts.logFile },
    );
    const view = new StorageView(source, mountpoint, opts.logFile, proc, control);
    mounted.add(mountpoint);
    try {
      await pollUntil(
        `storage view of ${source} on ${mountpoint}`,
        async () => {
          if (!isRunning(proc)) {
            throw new Error(
              `storage view helper exited at start (is python3-fuse installed?); see ${opts.logFile}`,
            );
          }
          return (await view.request("status").catch(() => undefined)) !== undefined;
        },
        opts.startTimeoutMs ?? 10_000,
      );
    } catch (err) {
      await view.unmount();
      throw err;
    }
    return view;
  }

  get pid(): number {
    return this.proc.pid;
  }

  /** true while the helper process runs */
  get running(): boolean {
    return isRunning(this.proc);
  }

  /** From now on every write, open for writing, truncate and fsync fails; reads work. */
  async cutWrites(errno: CutErrno = "EIO"): Promise<void> {
    await this.request(`cut-writes ${errno}`);
  }

  /** From now on every operation fails with EIO, reads included. */
  async cutAll(): Promise<void> {
    await this.request("cut-all");
  }

  /**
   * Slow storage: from now on every read at offset 0 of a file (the start of a whole-file
   * read, as the broker's whiteboard read) waits `seconds` first; 0 ends it, as `restore()`.
   */
  async slowReads(seconds: number): Promise<void> {
    await this.request(`slow-reads ${seconds}`);
  }

  /** Back to normal passthrough. */
  async restore(): Promise<void> {
    await this.request("restore");
  }

  /**
   * The server stops answering, as a hard-mounted NFS server that went away: the helper
   * is stopped (SIGSTOP), so every I/O through the view waits until `resume()`.
   */
  freeze(): void {
    signalChild(this.proc, "SIGSTOP");
  }

  /** The server answers again: the I/O waiting since `freeze()` completes. */
  resume(): void {
    signalChild(this.proc, "SIGCONT");
  }

  async status(): Promise<StorageViewStatus> {
    const [mode, errno] = (await this.request("status")).split(" ");
    return { mode: mode as StorageViewMode, errno: errno as CutErrno };
  }

  /**
   * Lazily unmounts (processes with open files keep them until they close them or the
   * helper ends), then ends the helper: SIGTERM, SIGKILL after `graceMs`. Files still
   * open through the view then fail with ENOTCONN. Safe to call twice.
   */
  async unmount(graceMs = 5000): Promise<void> {
    this.resume();
    if (await isMountPoint(this.mountpoint)) {
      await runCommand("umount", ["-l", this.mountpoint]);
    }
    if (this.running) {
      signalChild(this.proc, "SIGTERM");
      if (!(await waitExit(this.proc, graceMs))) {
        signalChild(this.proc, "SIGKILL");
        await waitExit(this.proc, 5000);
      }
    }
    if (await isMountPoint(this.mountpoint)) {
      const { code, output } = await runCommand("umount", ["-l", this.mountpoint]);
      if (code !== 0) throw new Error(`umount -l ${this.mountpoint} failed: ${output.trim()}`);
    }
    mounted.delete(this.mountpoint);
    await rm(this.control, { force: true });
  }

  /** One control command; resolves with the answer after "ok ", rejects on "error ...". */
  private request(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const sock = createConnection({ path: this.control });
      let answer = "";
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`storage view ${this.mountpoint}: no answer to "${command}"`));
      }, 5000);
      sock.once("connect", () => sock.write(`${command}\n`));
      sock.on("data", (d: Buffer) => {
        answer += d.toString();
        const nl = answer.indexOf("\n");
        if (nl < 0) return;
        clearTimeout(timer);
        sock.destroy();
        const line = answer.slice(0, nl);
        if (line.startsWith("ok ")) resolve(line.slice(3));
        else reject(new Error(`storage view ${this.mountpoint}: "${command}" failed: ${line}`));
      });
      sock.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }
}
