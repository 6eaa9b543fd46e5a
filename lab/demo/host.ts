import { spawnSync } from "node:child_process";
import { appendFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseDomainType } from "../../src/common/domain-types.js";
import { formatKeyValue } from "../../src/common/keyvalue.js";
import { haPaths } from "../../src/common/paths.js";
import { mountPlan } from "../../src/storage/connect/mount-plan.js";
import { productBin } from "../children.js";
import { Libvirtd } from "../standins/libvirtd.js";
import {
  isRunning,
  pollUntil,
  runCommand,
  signalChild,
  spawnTracked,
  type TrackedChild,
  terminate,
  unixSocketAccepts,
  waitExit,
} from "../standins/processes.js";
import { SanlockDaemon } from "../standins/sanlock-daemon.js";
import { StorageView } from "../standins/storage-view.js";
import type { HostVdsm } from "./block-storage.js";
import { bridgeDown, bridgeUp, createBridge, deleteBridge } from "./bridge.js";
import { Gateway } from "./gateway.js";
import type { DemoStorageKind } from "./storage-kind.js";

/** Everything one simulated HA host is made of. */
export interface DemoHostSpec {
  id: number;
  /** directory of this host: its HE_HA_ROOT, sanlock run dir, libvirtd dir, logs */
  dir: string;
  /** short unique prefix for kernel object names (bridges, veths) */
  netPrefix: string;
  /** hosted-engine.conf lines shared by every host (storage, vm, engine fqdn) */
  sharedConf: Array<[string, string]>;
  /** the shared storage domain directory (local storage: every host uses it directly) */
  domain: string;
  agentConf: string;
  /**
   * gluster: hosted-engine.conf names the volume (domainType=glusterfs, storage=) and the
   * host's agent mounts it where VDSM would under the host's root; local: domain_path;
   * block: an iSCSI domain the host's VDSM serves (`vdsm`), its LVs loop devices
   */
  storage: DemoStorageKind;
  /** block storage: this host's VDSM protocol server (lab/demo/block-storage.ts) */
  vdsm?: HostVdsm;
}

/**
 * One simulated host: its own sanlock daemon, hypervisor (libvirtd serving the test
 * driver in its own mount namespace), management bridge, network gateway, broker and
 * agent processes, all under its own HE_HA_ROOT. Every process is started and ended by
 * pid; `kill9()` is a hard host failure (everything SIGKILLed, its VMs gone).
 */
export class DemoHost {
  readonly id: number;
  readonly name: string;
  readonly root: string;
  readonly bridge: string;
  readonly gateway = new Gateway();
  sanlock: SanlockDaemon | undefined;
  libvirtd: Libvirtd | undefined;
  broker: TrackedChild | undefined;
  agent: TrackedChild | undefined;
  /** this host's own path to the shared domain, when it can lose storage (storage-loss) */
  storageView: StorageView | undefined;
  /**
   * Extra environment of each HA daemon (e.g. its systemd unit's `Environment=`, which
   * the resource benchmark applies); read when the daemon starts.
   */
  daemonEnv: { broker?: Record<string, string>; agent?: Record<string, string> } = {};
  private bridgeCreated = false;

  constructor(private readonly spec: DemoHostSpec) {
    this.id = spec.id;
    this.name = `host${spec.id}`;
    this.root = spec.dir;
    this.bridge = `${spec.netPrefix}${spec.id}br`;
  }

  get paths() {
    return haPaths(this.root);
  }

  get libvirtUri(): string {
    return this.libvirtd?.uri ?? "";
  }

  /** this host's sanlock daemon's run dir (SANLOCK_RUN_DIR for its clients) */
  get sanlockRunDir(): string {
    return this.sanlock?.runDir ?? path.join(this.root, "sanlock");
  }

  /** The pid of each of this host's daemons that runs now, by name (resource sampling). */
  daemonPids(): Record<string, number> {
    const pids: Record<string, number | null | undefined> = {
      broker: this.broker?.pid,
      agent: this.agent?.pid,
      sanlock: this.sanlock?.running ? this.sanlock.pid : undefined,
      libvirtd: this.libvirtd?.pid,
      "libvirt-keeper": this.libvirtd?.keeperPid,
    };
    return Object.fromEntries(
      Object.entries(pids).filter((e): e is [string, number] => typeof e[1] === "number"),
    );
  }

  get logDir(): string {
    return path.join(this.root, "var", "log");
  }

  /** Brings up the host's infrastructure: bridge, gateway, sanlock, libvirtd (not the HA daemons). */
  async provisionInfra(): Promise<void> {
    const p = this.paths;
    await mkdir(this.logDir, { recursive: true });
    await mkdir(path.dirname(p.hostConf), { recursive: true });
    await mkdir(path.dirname(p.agentConf), { recursive: true });
    await mkdir(p.runDir, { recursive: true });
    await mkdir(p.stateDir, { recursive: true });
    await createBridge(this.bridge, `${this.spec.netPrefix}${this.spec.id}v`);
    this.bridgeCreated = true;
    await this.spec.vdsm?.provision(this);
    await this.boot();
  }

  /**
   * The host (re)boots: gateway, a fresh sanlock daemon and libvirtd (no VM, no
   * lockspace), nothing mounted; the HA daemons are started by start().
   */
  async boot(): Promise<void> {
    await this.gateway.up();
    this.sanlock = await SanlockDaemon.start({
      runDir: path.join(this.root, "sanlock"),
      hostName: this.name,
    });
    this.libvirtd = await Libvirtd.start({ dir: path.join(this.root, "libvirt") });
    await this.spec.vdsm?.start(this);
  }

  /** block storage: this host's VDSM protocol server */
  get vdsm(): HostVdsm | undefined {
    return this.spec.vdsm;
  }

  /** Where this host's agent mounts the gluster volume (VDSM's point under its root). */
  get storageMountPoint(): string | undefined {
    if (this.spec.storage !== "gluster") return undefined;
    const conf = new Map(this.spec.sharedConf);
    return mountPlan(
      {
        domainType: parseDomainType(conf.get("domainType") ?? ""),
        storage: conf.get("storage") ?? "",
        sdUUID: conf.get("sdUUID") ?? "",
        mntOptions: "",
        nfsVersion: "",
        vfsType: "",
      },
      this.paths.mountRoot,
    ).mountPoint;
  }

  /** Lazily detaches this host's storage mount, if any (its power is gone). */
  async dropStorageMount(): Promise<void> {
    const mp = this.storageMountPoint;
    if (mp) await runCommand("umount", ["-l", mp]).catch(() => undefined);
  }

  /**
   * Gives the host its own FUSE view of the shared domain, so that it alone can lose
   * storage. Mount after every host's libvirtd exists: a mount namespace made later
   * would keep a private copy of the view.
   */
  async mountStorageView(): Promise<void> {
    this.storageView = await StorageView.mount({
      source: this.spec.domain,
      mountpoint: path.join(this.root, "storage-view"),
      logFile: path.join(this.logDir, "storage-view.log"),
    });
  }

  /** Writes hosted-engine.conf and agent.conf for this host. */
  async writeConfig(): Promise<void> {
    const p = this.paths;
    const conf: Array<[string, string]> = [
      ["host_id", String(this.id)],
      // each host publishes its own name (not the machine's, which all of them share)
      ["hostname", this.name],
      ...this.spec.sharedConf,
      ...(this.spec.storage === "local"
        ? [["domain_path", this.storageView?.mountpoint ?? this.spec.domain] as [string, string]]
        : []),
      ...(this.spec.vdsm?.confLines() ?? []),
      ["bridge", this.bridge],
      ["gateway", "127.0.0.1"],
      ["network_test", "tcp"],
      ["tcp_t_address", "127.0.0.1"],
      ["tcp_t_port", String(this.gateway.port)],
      ["libvirt_uri", this.libvirtUri],
      ["conf", p.vmConf],
    ];
    await writeFile(p.hostConf, formatKeyValue(conf));
    await writeFile(p.agentConf, this.spec.agentConf);
  }

  /** Appends settings to this host's agent.conf; read by an agent started afterwards. */
  async appendAgentConf(text: string): Promise<void> {
    await appendFile(this.paths.agentConf, text);
  }

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      HE_HA_ROOT: this.root,
      SANLOCK_RUN_DIR: this.sanlock?.runDir ?? "",
      HE_HA_LOG_LEVEL: process.env.HE_HA_LOG_LEVEL ?? "info",
    };
  }

  async startBroker(): Promise<void> {
    if (this.broker && isRunning(this.broker)) return;
    const broker = await spawnTracked(process.execPath, [productBin("ovirt-ha-broker")], {
      logFile: path.join(this.logDir, "broker.log"),
      env: { ...this.env(), ...this.daemonEnv.broker },
    });
    this.broker = broker;
    await pollUntil(
      `${this.name}'s broker socket`,
      async () => {
        if (!isRunning(broker))
          throw new Error(`${this.name}'s broker exited at start; see ${this.logDir}/broker.log`);
        return unixSocketAccepts(this.paths.brokerSocket);
      },
      30_000,
      100,
    );
  }

  async startAgent(): Promise<void> {
    if (this.agent && isRunning(this.agent)) return;
    this.agent = await spawnTracked(process.execPath, [productBin("ovirt-ha-agent")], {
      logFile: path.join(this.logDir, "agent.log"),
      env: { ...this.env(), ...this.daemonEnv.agent },
    });
  }

  async start(): Promise<void> {
    await this.startBroker();
    await this.startAgent();
  }

  /** Orderly stop of the agent (SIGTERM: it publishes AgentStopped, leaves the VM running). */
  async stopAgent(): Promise<void> {
    if (this.agent) await terminate(this.agent, 15_000);
    this.agent = undefined;
  }

  async stopBroker(): Promise<void> {
    if (this.broker) await terminate(this.broker, 10_000);
    this.broker = undefined;
  }

  /** Runs `he-ha <args>` as this host (its HE_HA_ROOT and sanlock daemon). */
  heHa(args: string[]): Promise<{ code: number; output: string }> {
    return runCommand(process.execPath, [productBin("he-ha"), ...args], this.env(), 60_000);
  }

  async cutNetwork(): Promise<void> {
    await this.gateway.cut();
  }

  async restoreNetwork(): Promise<void> {
    await this.gateway.up();
  }

  async bridgeDown(): Promise<void> {
    await bridgeDown(this.bridge);
  }

  async bridgeUp(): Promise<void> {
    await bridgeUp(this.bridge);
  }

  get processesState(): "up" | "down" | "partial" {
    const up = [this.agent, this.broker].filter((c) => c && isRunning(c)).length;
    return up === 2 ? "up" : up === 0 ? "down" : "partial";
  }

  /** Hard failure: every process of the host SIGKILLed at once; its VMs are gone. */
  async kill9(): Promise<void> {
    for (const c of [this.agent, this.broker]) if (c && isRunning(c)) signalChild(c, "SIGKILL");
    await Promise.all([
      this.sanlock?.kill9(),
      this.libvirtd?.kill9(),
      this.spec.vdsm?.kill(),
      ...[this.agent, this.broker].map((c) => (c ? waitExit(c, 5000) : undefined)),
    ]);
    this.agent = undefined;
    this.broker = undefined;
    await this.gateway.cut();
    await this.dropStorageMount();
  }

  /**
   * Last resort when the demo process exits without its orderly teardown (an uncaught
   * error): removes the kernel objects it made, synchronously, as an exit hook must.
   * Processes are ended by the sim's own exit hook (by pid).
   */
  removeBridgeSync(): void {
    if (!this.bridgeCreated) return;
    for (const dev of [`${this.spec.netPrefix}${this.spec.id}va`, this.bridge]) {
      spawnSync("ip", ["link", "del", dev], { stdio: "ignore" });
    }
    const mp = this.storageMountPoint;
    if (mp) spawnSync("umount", ["-l", mp], { stdio: "ignore" });
    this.bridgeCreated = false;
  }

  /** Orderly teardown; safe to call twice and after kill9. */
  async teardown(): Promise<void> {
    await this.stopAgent().catch(() => undefined);
    await this.stopBroker().catch(() => undefined);
    await this.spec.vdsm?.stop().catch(() => undefined);
    await this.libvirtd?.stop().catch(() => undefined);
    await this.sanlock?.stop().catch(() => undefined);
    await this.storageView?.unmount().catch(() => undefined);
    await this.dropStorageMount();
    await this.gateway.cut();
    if (this.bridgeCreated)
      await deleteBridge(this.bridge, `${this.spec.netPrefix}${this.spec.id}v`);
    this.bridgeCreated = false;
  }
}
