/**
 * A host of the Python services, as far as the engine VM's lease goes (see
 * lab/standins/python_host.py): its own real sanlock daemon, and a python3-sanlock process
 * that joins the storage domain's lockspace as VDSM does and acquires the engine VM's
 * lease as libvirt's lock driver does for qemu. Neither is our code.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import type { SectorGeometry } from "../../src/common/sector-geometry.js";
import { labFile } from "../paths.js";
import { SanlockDaemon } from "./sanlock-daemon.js";

/** ` <align> <sector>` for python_host.py, or nothing (sanlock's 512/1M) */
function geometryWords(g: SectorGeometry | undefined): string {
  return g ? ` ${g.alignment} ${g.sectorSize}` : "";
}

// the checkout's lab/standins/python_host.py (from sources and from dist/)
const SCRIPT = labFile("standins", "python_host.py");

export interface LeaseRef {
  lockspace: string;
  resource: string;
  path: string;
  offset: number;
}

export class PythonHost {
  private readonly lines: string[] = [];
  private waiting: ((line: string) => void) | null = null;

  private constructor(
    readonly sanlock: SanlockDaemon,
    private readonly proc: ChildProcessWithoutNullStreams,
    /** whether stop() ends the sanlock daemon too (start) or leaves it to its owner (attach) */
    private readonly ownsDaemon: boolean,
  ) {
    const rl = createInterface({ input: proc.stdout });
    rl.on("line", (line) => {
      const w = this.waiting;
      if (w) {
        this.waiting = null;
        w(line);
      } else this.lines.push(line);
    });
  }

  /** A sanlock daemon under `dir` and the python3-sanlock process talking to it. */
  static async start(dir: string, name: string): Promise<PythonHost> {
    const sanlock = await SanlockDaemon.start({
      runDir: path.join(dir, "sanlock"),
      hostName: name,
    });
    return new PythonHost(sanlock, PythonHost.spawnClient(sanlock), true);
  }

  /**
   * A python3-sanlock process talking to a sanlock daemon someone else runs: on a demo
   * host with VDSM, libvirt's sanlock lock driver taking the engine VM's lease for qemu
   * (lab/standins/vdsm/lease-launcher.ts). stop() leaves the daemon running.
   */
  static attach(sanlock: SanlockDaemon): PythonHost {
    return new PythonHost(sanlock, PythonHost.spawnClient(sanlock), false);
  }

  private static spawnClient(sanlock: SanlockDaemon): ChildProcessWithoutNullStreams {
    const proc = spawn("/usr/bin/python3", [SCRIPT], {
      env: { ...process.env, SANLOCK_RUN_DIR: sanlock.runDir },
    });
    proc.stderr.on("data", (d: Buffer) => process.stderr.write(`[python host] ${d}`));
    return proc;
  }

  /** Ends the python process at once (qemu killed): sanlock releases what it held. */
  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGKILL");
  }

  /** the python process's pid: the lease holder sanlock reports */
  get pid(): number {
    return this.proc.pid!;
  }

  private async command(line: string): Promise<string> {
    const answer = new Promise<string>((resolve) => {
      const queued = this.lines.shift();
      if (queued !== undefined) resolve(queued);
      else this.waiting = resolve;
    });
    this.proc.stdin.write(`${line}\n`);
    return answer;
  }

  /**
   * add_lockspace, as VDSM's startMonitoringDomain does on a Python host; `ioTimeout` is
   * the io_timeout it joins with (VDSM passes its `[sanlock] io_timeout`, 10 by default;
   * python_host.py uses 1 when none is given).
   */
  join(lockspace: string, hostId: number, ids: string, ioTimeout?: number): Promise<string> {
    const io = ioTimeout === undefined ? "" : ` ${ioTimeout}`;
    return this.command(`join ${lockspace} ${hostId} ${ids}${io}`);
  }

  /** register + acquire, as libvirt's sanlock lock driver does for qemu */
  acquire(l: LeaseRef): Promise<string> {
    return this.command(`acquire ${l.lockspace} ${l.resource} ${l.path} ${l.offset}`);
  }

  release(l: LeaseRef): Promise<string> {
    return this.command(`release ${l.lockspace} ${l.resource} ${l.path} ${l.offset}`);
  }

  /** the lease's owners as sanlock reads them from storage: `host_id:generation,…` */
  owners(l: LeaseRef, g?: SectorGeometry): Promise<string> {
    return this.command(
      `owners ${l.lockspace} ${l.resource} ${l.path} ${l.offset}${geometryWords(g)}`,
    );
  }

  /** sanlock.write_lockspace with align= and sector=, as VDSM creates a domain's ids */
  writeLockspace(lockspace: string, path: string, g: SectorGeometry): Promise<string> {
    return this.command(`write_lockspace ${lockspace} ${path} 0${geometryWords(g)}`);
  }

  /** sanlock.write_resource with align= and sector=, as VDSM creates a volume lease */
  writeResource(l: LeaseRef, g: SectorGeometry): Promise<string> {
    return this.command(
      `write_resource ${l.lockspace} ${l.resource} ${l.path} ${l.offset}${geometryWords(g)}`,
    );
  }

  /** sanlock.read_resource: `ok read_resource <lockspace> <resource>` as written there */
  readResource(path: string, offset: number, g: SectorGeometry): Promise<string> {
    return this.command(`read_resource ${path} ${offset}${geometryWords(g)}`);
  }

  async stop(): Promise<void> {
    this.proc.stdin.end();
    await new Promise((r) =>
      this.proc.exitCode !== null || this.proc.signalCode !== null
        ? r(null)
        : this.proc.once("exit", r),
    );
    if (this.ownsDaemon) await this.sanlock.stop().catch(() => undefined);
  }
}
