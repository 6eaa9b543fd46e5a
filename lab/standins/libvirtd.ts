/**
 * One lab host's hypervisor (a stand-in): a libvirtd serving libvirt's test driver, reached at
 * `test+unix:///default?socket=<dir>/libvirt-sock`, so the host's agent, broker and
 * anyone else share one fake hypervisor that outlives them.
 *
 * - Several run side by side: each libvirtd lives in its own mount namespace
 *   (`unshare -m --propagation private`) with tmpfs over /run/libvirt, /var/lib/libvirt
 *   and /var/cache/libvirt, so their pid files and state never collide. The namespace
 *   ends with the daemon (its only process); nothing is left mounted.
 * - The keeper: the test driver's shared "default" hypervisor is reset when its last
 *   client disconnects. A `virsh -c <uri>` shell that we never send a command to keeps
 *   one connection open for the stand-in's lifetime, so domains survive agent and broker
 *   restarts, exactly like a real host's VMs. The keeper is a child of the process that
 *   started the stand-in (the demo or the test), not of the agent.
 * - QEMU mode (`hypervisor: "qemu"`) runs real qemu-system-x86 with libvirt's sanlock
 *   lock manager instead, each daemon with its own /etc/libvirt; no keeper is needed.
 * - Hard failure (`kill9`) ends libvirtd and the keeper with SIGKILL: every VM of the
 *   host is gone. `restart()` is a clean libvirtd restart; the test driver then starts
 *   empty (its default domain "test" only).
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { authfileText, withAuthfile } from "../../src/common/libvirt-auth-uri.js";
import {
  isRunning,
  runCommand,
  signalChild,
  spawnTracked,
  type TrackedChild,
  terminate,
  unixSocketAccepts,
  waitExit,
  waitUntilReady,
} from "./processes.js";

const run = promisify(execFile);

/** Runs a command with `input` on its stdin; throws with its output when it fails. */
async function runWithInput(cmd: string, args: string[], input: string): Promise<void> {
  const p = run(cmd, args, { timeout: 10_000 });
  p.child.stdin?.end(input);
  await p;
}

export interface LibvirtdOptions {
  /** directory for the sockets, config, pid file and logs (created if missing) */
  dir: string;
  /** how long to wait for the socket (default 20 s) */
  startTimeoutMs?: number;
  /**
   * `test` (default): libvirt's test driver. `qemu`: the QEMU driver running real
   * qemu-system-x86 (software emulation), with libvirt's sanlock lock manager talking
   * to the sanlock daemon of `sanlockRunDir`, as VDSM configures oVirt hosts.
   */
  hypervisor?: "test" | "qemu";
  /** SANLOCK_RUN_DIR of this host's sanlock daemon (qemu mode) */
  sanlockRunDir?: string;
  /**
   * Require SASL on the read-write socket (`auth_unix_rw = "sasl"`, as VDSM configures
   * oVirt hosts) with this one user in a private sasldb. The daemon reads its own
   * libvirt.conf (mechanism, sasldb path) from `<dir>/sasl2` through Cyrus SASL's
   * `SASL_CONF_PATH` instead of /etc/sasl2. The stand-in writes an authfile (`authfile`).
   */
  sasl?: { user: string; password: string };
}

/** SASL mechanism of a stand-in with `sasl` (VDSM configures scram-sha-256 on EL 9; Debian's plugin offers SCRAM-SHA-1) */
const SASL_MECH = "scram-sha-1";

/**
 * qemu.conf of a QEMU-mode stand-in: the sanlock lock manager; qemu as root without
 * cgroups, namespaces or virtlogd, which a container host lacks.
 */
const QEMU_CONF = [
  'lock_manager = "sanlock"',
  'user = "root"',
  'group = "root"',
  "dynamic_ownership = 0",
  "remember_owner = 0",
  "namespaces = [ ]",
  "cgroup_controllers = [ ]",
  'stdio_handler = "file"',
  "",
].join("\n");

/** leases only where the domain XML names them (the engine VM's `<lease>`) */
const QEMU_SANLOCK_CONF = ["auto_disk_leases = 0", "require_lease_for_disks = 0", ""].join("\n");

const NAMESPACE_SCRIPT = [
  "set -e",
  "for d in /run/libvirt /var/lib/libvirt /var/cache/libvirt; do",
  '  mkdir -p "$d"',
  '  mount -t tmpfs -o mode=0755 tmpfs "$d"',
  "done",
  // QEMU mode: this daemon's own /etc/libvirt (qemu.conf, qemu-sanlock.conf)
  'if [ -n "$3" ]; then',
  "  mount -t tmpfs -o mode=0755 tmpfs /etc/libvirt",
  '  cp "$3"/* /etc/libvirt/',
  "fi",
  'exec libvirtd -f "$1" -p "$2"',
].join("\n");

export class Libvirtd {
  readonly dir: string;
  readonly uri: string;
  readonly hypervisor: "test" | "qemu";
  /** with `sasl`: an authfile holding the SASL user's credentials ("" without) */
  readonly authfile: string;
  private readonly sasl: LibvirtdOptions["sasl"];
  private readonly startTimeoutMs: number;
  private readonly sanlockRunDir: string | undefined;
  private daemon: TrackedChild | null = null;
  private keeper: TrackedChild | null = null;

  private constructor(opts: LibvirtdOptions) {
    this.dir = opts.dir;
    this.hypervisor = opts.hypervisor ?? "test";
    const base = this.hypervisor === "qemu" ? "qemu+unix:///system" : "test+unix:///default";
    this.uri = `${base}?socket=${join(opts.dir, "libvirt-sock")}`;
    this.startTimeoutMs = opts.startTimeoutMs ?? 20_000;
    this.sanlockRunDir = opts.sanlockRunDir;
    this.sasl = opts.sasl;
    this.authfile = opts.sasl ? join(opts.dir, "virsh_auth.conf") : "";
  }

  /** The URI with this stand-in's authfile (the URI itself without SASL). */
  get authUri(): string {
    return withAuthfile(this.uri, this.authfile);
  }

  /** Starts libvirtd in its own mount namespace plus the keeper connection. */
  static async start(opts: LibvirtdOptions): Promise<Libvirtd> {
    const libvirtd = new Libvirtd(opts);
    await mkdir(opts.dir, { recursive: true });
    await writeFile(
      join(opts.dir, "libvirtd.conf"),
      [
        `unix_sock_dir = ${JSON.stringify(opts.dir)}`,
        `auth_unix_rw = "${opts.sasl ? "sasl" : "none"}"`,
        'auth_unix_ro = "none"',
        'unix_sock_rw_perms = "0770"',
        'log_outputs = "3:stderr"',
        "",
      ].join("\n"),
    );
    if (opts.sasl) await libvirtd.writeSasl(opts.sasl);
    if (libvirtd.hypervisor === "qemu") {
      await mkdir(join(opts.dir, "etc"), { recursive: true });
      await writeFile(join(opts.dir, "etc", "qemu.conf"), QEMU_CONF);
      await writeFile(join(opts.dir, "etc", "qemu-sanlock.conf"), QEMU_SANLOCK_CONF);
    }
    try {
      await libvirtd.startProcesses();
    } catch (err) {
      await libvirtd.kill9();
      throw err;
    }
    return libvirtd;
  }

  /** sasl2/libvirt.conf, the sasldb with the one user, and the client's authfile */
  private async writeSasl(sasl: { user: string; password: string }): Promise<void> {
    const dir = join(this.dir, "sasl2");
    const db = join(this.dir, "passwd.db");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "libvirt.conf"), `mech_list: ${SASL_MECH}\nsasldb_path: ${db}\n`);
    await runWithInput(
      "saslpasswd2",
      ["-a", "libvirt", "-f", db, "-p", "-c", sasl.user],
      sasl.password,
    );
    await writeFile(this.authfile, authfileText(sasl.user, sasl.password), { mode: 0o600 });
  }

  get pid(): number | null {
    return this.daemon && isRunning(this.daemon) ? this.daemon.pid : null;
  }

  get keeperPid(): number | null {
    return this.keeper && isRunning(this.keeper) ? this.keeper.pid : null;
  }

  get running(): boolean {
    return this.pid !== null;
  }

  /**
   * Orderly stop: the keeper, then libvirtd (SIGTERM, SIGKILL after `graceMs`). In QEMU
   * mode the running VMs are destroyed first: qemu processes outlive libvirtd.
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.hypervisor === "qemu" && this.running) await this.destroyAllDomains();
    if (this.keeper) await terminate(this.keeper, 2000);
    if (this.daemon) await terminate(this.daemon, graceMs);
    this.keeper = null;
    this.daemon = null;
  }

  private async destroyAllDomains(): Promise<void> {
    const uri = this.authUri;
    const list = await runCommand("virsh", ["-c", uri, "list", "--name"], undefined, 10_000);
    for (const name of list.output.split("\n").map((l) => l.trim())) {
      if (name) await runCommand("virsh", ["-c", uri, "destroy", name], undefined, 10_000);
    }
  }

  /** Hard failure of the hypervisor: SIGKILL to libvirtd and the keeper. */
  async kill9(): Promise<void> {
    for (const c of [this.keeper, this.daemon]) {
      if (c && isRunning(c)) {
        signalChild(c, "SIGKILL");
        await waitExit(c, 5000);
      }
    }
    this.keeper = null;
    this.daemon = null;
  }

  /** Sends `signal` to libvirtd itself (a fault: SIGSTOP/SIGCONT). */
  signal(signal: NodeJS.Signals): void {
    if (this.daemon && isRunning(this.daemon)) signalChild(this.daemon, signal);
  }

  /**
   * libvirtd killed (SIGKILL), then started again after `restartSec` as systemd does for
   * libvirtd.service (`Restart=on-failure`). With the test driver the VMs live inside
   * libvirtd, so they are gone with it (on a real host qemu outlives libvirtd).
   */
  async crashAndRestart(restartSec: number): Promise<void> {
    await this.kill9();
    await new Promise((r) => setTimeout(r, restartSec * 1000));
    await this.startProcesses();
  }

  /** Clean restart on the same socket (same URI); the test driver starts empty. */
  async restart(): Promise<void> {
    await this.stop();
    await this.startProcesses();
  }

  private async startProcesses(): Promise<void> {
    const sock = join(this.dir, "libvirt-sock");
    const daemon = await spawnTracked(
      "unshare",
      [
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        NAMESPACE_SCRIPT,
        "libvirtd-standin",
        join(this.dir, "libvirtd.conf"),
        join(this.dir, "libvirtd.pid"),
        this.hypervisor === "qemu" ? join(this.dir, "etc") : "",
      ],
      {
        logFile: join(this.dir, "libvirtd.log"),
        env: {
          ...process.env,
          ...(this.sanlockRunDir ? { SANLOCK_RUN_DIR: this.sanlockRunDir } : {}),
          ...(this.sasl ? { SASL_CONF_PATH: join(this.dir, "sasl2") } : {}),
        },
      },
    );
    this.daemon = daemon;
    await waitUntilReady(
      daemon,
      `libvirtd socket ${sock}`,
      join(this.dir, "libvirtd.log"),
      () => unixSocketAccepts(sock),
      this.startTimeoutMs,
    );
    // QEMU domains outlive connections; only the test driver needs the keeper
    if (this.hypervisor === "test") await this.startKeeper();
  }

  private async startKeeper(): Promise<void> {
    const log = join(this.dir, "keeper.log");
    await writeFile(log, "");
    const keeper = await spawnTracked("virsh", ["-q", "-c", this.authUri], {
      logFile: log,
      stdin: "pipe",
    });
    this.keeper = keeper;
    // Ask the keeper for its URI: the answer proves its connection is open.
    keeper.child.stdin?.write("uri\n");
    await waitUntilReady(
      keeper,
      "the libvirt keeper connection",
      log,
      async () => (await readFile(log, "utf8")).includes("test+unix:///default"),
      this.startTimeoutMs,
    );
  }
}
