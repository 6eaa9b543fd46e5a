/**
 * A real sanlock daemon for one lab host: unprivileged mode, no watchdog, its own
 * run directory (socket, pid file). Every client that should talk to it (the host's
 * agent, `sanlock client ...`) gets `SANLOCK_RUN_DIR=<runDir>` in its environment: use
 * `daemon.env` or `daemon.clientEnv()`.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { lockspaceString } from "../../src/sanlock/names.js";
import {
  isRunning,
  runCommand,
  signalChild,
  spawnTracked,
  type TrackedChild,
  unixSocketAccepts,
  waitExit,
  waitUntilReady,
} from "./processes.js";

export interface SanlockDaemonOptions {
  /** directory for the socket, pid file and log (created if missing) */
  runDir: string;
  /** the host name written into the delta lease (`-e`) */
  hostName: string;
  /** how long to wait for the socket (default 10 s) */
  startTimeoutMs?: number;
}

export class SanlockDaemon {
  readonly runDir: string;
  readonly hostName: string;
  readonly logFile: string;
  private readonly proc: TrackedChild;

  private constructor(opts: SanlockDaemonOptions, proc: TrackedChild) {
    this.runDir = opts.runDir;
    this.hostName = opts.hostName;
    this.logFile = join(opts.runDir, "sanlock-daemon.log");
    this.proc = proc;
  }

  /** Starts the daemon and resolves once its socket accepts connections. */
  static async start(opts: SanlockDaemonOptions): Promise<SanlockDaemon> {
    await mkdir(opts.runDir, { recursive: true });
    const proc = await spawnTracked(
      "sanlock",
      ["daemon", "-D", "-w", "0", "-l", "0", "-U", "root", "-G", "root", "-e", opts.hostName],
      {
        logFile: join(opts.runDir, "sanlock-daemon.log"),
        env: { ...process.env, SANLOCK_RUN_DIR: opts.runDir, SANLOCK_PRIVILEGED: "0" },
      },
    );
    const daemon = new SanlockDaemon(opts, proc);
    try {
      const sock = join(opts.runDir, "sanlock.sock");
      await waitUntilReady(
        proc,
        `sanlock daemon socket ${sock}`,
        daemon.logFile,
        () => unixSocketAccepts(sock),
        opts.startTimeoutMs ?? 10_000,
      );
    } catch (err) {
      await daemon.kill9();
      throw err;
    }
    return daemon;
  }

  get pid(): number {
    return this.proc.pid;
  }

  get running(): boolean {
    return isRunning(this.proc);
  }

  /** environment for clients of this daemon (CLI, libsanlock in a child process) */
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, SANLOCK_RUN_DIR: this.runDir };
  }

  /** Runs `sanlock <args>` against this daemon. */
  client(args: string[]): Promise<{ code: number; output: string }> {
    return runCommand("sanlock", args, this.env);
  }

  /**
   * `sanlock client add_lockspace -o 1` (io_timeout 1, the lab's profile) for `hostId`
   * in lockspace `name` at offset 0 of `path`; "done 0" in the output when joined.
   */
  addLockspace(
    name: string,
    hostId: number,
    path: string,
  ): Promise<{ code: number; output: string }> {
    return this.client([
      "client",
      "add_lockspace",
      "-o",
      "1",
      "-s",
      lockspaceString(name, hostId, path, 0),
    ]);
  }

  /**
   * Orderly stop: `sanlock shutdown -f 1` (leaves every lockspace, frees the delta
   * lease), then SIGKILL by pid when it has not exited after `graceMs`.
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    await this.client(["shutdown", "-f", "1"]).catch(() => undefined);
    if (await waitExit(this.proc, graceMs)) return;
    await this.kill9();
  }

  /** true between a SIGSTOP sent by signal() and the SIGCONT: the daemon answers nobody */
  stopped = false;

  /** Sends `signal` to the daemon (a fault: SIGSTOP/SIGCONT, SIGKILL). */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    signalChild(this.proc, signal);
    if (signal === "SIGSTOP") this.stopped = true;
    if (signal === "SIGCONT") this.stopped = false;
  }

  /** Hard failure: SIGKILL. The host's delta lease stays on disk until it expires. */
  async kill9(): Promise<void> {
    if (!this.running) return;
    signalChild(this.proc, "SIGKILL");
    await waitExit(this.proc, 5000);
  }
}
