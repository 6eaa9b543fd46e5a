import { spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { formatKeyValue } from "../../src/common/keyvalue.js";
import { type Logger, silentLogger } from "../../src/common/log.js";
import { monotonicSeconds } from "../../src/common/monotonic.js";
import { HypervisorConnection } from "../../src/libvirt/hypervisor.js";
import { HE_LOCKSPACE, parseClientStatus } from "../../src/sanlock/names.js";
import { MetadataVolume } from "../../src/storage/direct-io.js";
import { engineDiskOf } from "../../src/storage/engine-disk.js";
import { initStorageDomain, type StorageInitResult } from "../../src/storage/init.js";
import { ovfToVmConf } from "../../src/storage/ovf/ovf-to-vmconf.js";
import { parseVmConf } from "../../src/storage/ovf/vmconf.js";
import { decodeWhiteboard, type WhiteboardSnapshot } from "../../src/storage/whiteboard/index.js";
import { engineOvf } from "../paths.js";
import { GlusterService, GlusterVolume, uniqueVolumeName } from "../standins/gluster.js";
import { runCommand } from "../standins/processes.js";
import { makeTestPki } from "../standins/vdsm/certs.js";
import { agentConfText, type DemoProfile, demoProfile } from "../timing.js";
import { BlockLuns, blockStorageConf, HostVdsm } from "./block-storage.js";
import type { ChaosTable } from "./chaos-table.js";
import { EngineWeb } from "./engine-web.js";
import { DemoHost } from "./host.js";
import { MailSink } from "./mail-sink.js";
import type { PredictionCheck } from "./prediction.js";
import { RunTracker } from "./run-tracker.js";
import type { DemoStorageKind } from "./storage-kind.js";
import type { ClusterSample, HostRow } from "./view.js";

export interface ClusterOptions {
  hosts: number;
  /** sanlock I/O timeout of the profile (seconds); timings scale with it */
  ioTimeout?: number;
  /** where hosts live; default a new temp dir, removed on teardown */
  baseDir?: string;
  log?: Logger;
  /** the engine OVF used to build vm.conf and the OVF_STORE */
  ovfFile?: string;
  /** give every host its own FUSE view of the domain, so one host can lose storage */
  storageViews?: boolean;
  /**
   * gluster (default): the domain lives on a one-brick GlusterFS volume of this machine's
   * glusterd and every host's agent mounts it (issue 12); local: a directory, domain_path;
   * block: an iSCSI domain behind a VDSM protocol server on every host, its LVs loop
   * devices (lab/demo/block-storage.ts)
   */
  storage?: DemoStorageKind;
  /** block storage: the loop devices' logical sector size (default 512) */
  sectorSize?: 512 | 4096;
}

/** A VM state the engine VM counts as running in (it occupies a host). */
const RUNNING_STATES = new Set(["running", "paused", "blocked", "pmsuspended"]);

export interface VmSighting {
  t: number;
  hosts: number[];
}

/**
 * A hosted-engine cluster on one machine: one shared file storage domain, N simulated
 * hosts, the engine's health page, and a sampler that checks every host's hypervisor
 * twice a second and records any moment the engine VM runs on two hosts at once.
 */
export class DemoCluster {
  readonly hosts: DemoHost[] = [];
  readonly engineWeb = new EngineWeb();
  readonly mail = new MailSink();
  readonly profile: DemoProfile;
  readonly startedAt = monotonicSeconds();
  /** moments the engine VM ran on more than one host */
  readonly doubleRuns: VmSighting[] = [];
  readonly events: string[] = [];
  /** sample numbers at which the engine VM ran on no host */
  readonly samplesWithoutVm: number[] = [];
  storage: StorageInitResult | undefined;
  /** the machine's glusterd as this cluster uses it, and the cluster's own volume */
  glusterd: GlusterService | undefined;
  volume: GlusterVolume | undefined;
  /** block storage: the loop devices standing in for the domain's LVs */
  luns: BlockLuns | undefined;
  /** the demo's own mount of the volume, to watch the whiteboard (not a host's) */
  private observerMount: string | undefined;
  private hypervisors = new Map<number, HypervisorConnection>();
  private vmHosts: number[] = [];
  private samplerTimer: NodeJS.Timeout | undefined;
  private sampling = false;
  /** where the VM ran, from a look at every hypervisor every 100 ms (lab/demo/run-tracker.ts) */
  readonly runs = new RunTracker();
  /** the failover story's prediction (he-ha simulate --from-live) beside the measurement */
  prediction: PredictionCheck | undefined;
  /** the chaos scenario's table, when it ran */
  chaos: ChaosTable | undefined;
  private trackerTimer: NodeJS.Timeout | undefined;
  private tracking = false;
  private samples = 0;
  private lastTimestamps = new Map<number, { ts: number; changedAt: number }>();
  private readonly log: Logger;
  private ownsBaseDir = false;
  baseDir = "";

  private constructor(private readonly opts: ClusterOptions) {
    this.profile = demoProfile(opts.ioTimeout ?? 1);
    this.log = opts.log ?? silentLogger;
  }

  get vmId(): string {
    return this.storage?.vmId ?? "";
  }

  elapsed(): number {
    return monotonicSeconds() - this.startedAt;
  }

  /** called with every timeline line (the non-live demo prints them) */
  onEvent: ((line: string) => void) | undefined;

  event(text: string): void {
    const line = `[${this.elapsed().toFixed(1).padStart(6)}s] ${text}`;
    this.events.push(line);
    this.onEvent?.(line);
    this.log.info({ t: this.elapsed() }, text);
  }

  /** Builds storage and hosts (infrastructure only: call startAll() to run the HA daemons). */
  static async create(opts: ClusterOptions): Promise<DemoCluster> {
    const c = DemoCluster.unprovisioned(opts);
    await c.provision();
    return c;
  }

  /**
   * A cluster with nothing built yet: hand it to a signal handler first, then call
   * provision(), so Ctrl-C while it is being built tears down whatever exists.
   */
  static unprovisioned(opts: ClusterOptions): DemoCluster {
    const c = new DemoCluster(opts);
    process.once("exit", c.exitHook);
    return c;
  }

  /** Synchronous leftovers cleanup if the process exits before teardown() finished. */
  private readonly exitHook = () => {
    for (const h of this.hosts) h.removeBridgeSync();
    for (const dev of this.luns?.loopDevices ?? [])
      spawnSync("losetup", ["-d", dev], { stdio: "ignore" });
    if (this.observerMount) spawnSync("umount", ["-l", this.observerMount], { stdio: "ignore" });
    if (this.volume) {
      for (const args of [
        ["stop", this.volume.name, "force"],
        ["delete", this.volume.name],
      ])
        spawnSync("gluster", ["--mode=script", "volume", ...args], { stdio: "ignore" });
    }
    if (this.ownsBaseDir && this.baseDir && !process.env.HE_HA_DEMO_KEEP) {
      try {
        rmSync(this.baseDir, { recursive: true, force: true });
      } catch {
        // a mount still busy: nothing more can be done while exiting
      }
    }
  };

  /** Builds storage and hosts; on failure tears down what it built and rethrows. */
  async provision(): Promise<void> {
    try {
      await this.build();
    } catch (e) {
      await this.teardown();
      throw e;
    }
  }

  private async build(): Promise<void> {
    if (this.opts.baseDir) {
      this.baseDir = this.opts.baseDir;
      await mkdir(this.baseDir, { recursive: true });
    } else {
      this.baseDir = await mkdtemp(path.join(os.tmpdir(), "he-demo-"));
      this.ownsBaseDir = true;
    }
    await this.engineWeb.start();
    await this.mail.start();
    this.mail.onMail = (m) =>
      this.event(`mail to ${m.to.join(",")}: ${m.subject.replace(/^ovirt-hosted-engine /, "")}`);
    const gluster = this.storageKind === "gluster";
    const block = this.storageKind === "block";
    const storageConf = gluster
      ? await this.glusterVolume()
      : block
        ? blockStorageConf()
        : LOCAL_STORAGE_CONF;
    const ovf = await readFile(this.opts.ovfFile ?? engineOvf(), "utf8");
    // VDSM finds a file domain at <mount>/<sdUUID>, and the domain's UUID is the one the
    // engine's OVF names for its disk (its lease's lockspace)
    const sdUUID =
      engineDiskOf(parseVmConf(ovfToVmConf(ovf), "the demo's OVF"))?.domainUUID ?? randomUUID();
    const domain = gluster
      ? path.join(this.observerMount!, sdUUID)
      : path.join(this.baseDir, "storage", "he-domain");
    await mkdir(domain, { recursive: true });
    if (block) {
      // the LVs: loop devices; dom_md/metadata and the file volumes stay in the directory,
      // standing in for the VG's tags and the LVs storage init cannot put on a device
      this.luns = await BlockLuns.attach(
        path.join(this.baseDir, "storage", "luns"),
        this.opts.sectorSize ?? 512,
      );
      this.event(
        `block domain: loop devices ${this.luns.loopDevices.join(", ")} (${this.luns.geometry.sectorSize}-byte sectors) stand in for its LVs`,
      );
    }
    this.storage = await initStorageDomain({
      domain,
      ovf,
      ioTimeout: this.profile.ioTimeout,
      brokerConf: this.mail.brokerConf(),
      hostConf: formatKeyValue([...sharedHostConf(this.engineWeb.fqdn), ...storageConf]),
      logger: this.log,
      ...(this.luns ? { geometry: this.luns.geometry, devices: this.luns.devices } : {}),
    });
    this.event(
      `storage domain ready: ${domain} (vm ${this.storage.vmId}, io_timeout ${this.profile.ioTimeout}s)`,
    );
    const sharedConf: Array<[string, string]> = [
      ...sharedHostConf(this.engineWeb.fqdn),
      ...storageConf,
      ...this.storage.confLines.filter(([k]) => k !== "domain_path"),
      ["sanlock_io_timeout", String(this.profile.ioTimeout)],
    ];
    const netPrefix = `he${randomBytes(2).toString("hex")}`;
    const pki = this.luns ? await makeTestPki(path.join(this.baseDir, "vdsm-pki")) : undefined;
    for (let id = 1; id <= this.opts.hosts; id++) {
      const host = new DemoHost({
        id,
        dir: path.join(this.baseDir, `host${id}`),
        netPrefix,
        sharedConf,
        domain,
        agentConf: agentConfText(this.profile),
        storage: this.storageKind,
        ...(this.luns && pki ? { vdsm: new HostVdsm(this.storage, this.luns, pki) } : {}),
      });
      this.hosts.push(host);
      await host.provisionInfra();
      this.hypervisors.set(
        id,
        new HypervisorConnection(host.libvirtUri, this.log.child({ host_id: id })),
      );
    }
    for (const host of this.hosts) {
      if (this.opts.storageViews) await host.mountStorageView();
      await host.writeConfig();
    }
    this.event(
      `${this.hosts.length} hosts provisioned (sanlock, libvirtd, gateway each; bridges ${this.hosts.map((h) => h.bridge).join(", ")})`,
    );
    this.startSampler();
  }

  get storageKind(): DemoStorageKind {
    return this.opts.storage ?? "gluster";
  }

  /**
   * Starts (or joins) glusterd, creates this cluster's volume and mounts it for the
   * demo's own eyes; returns the hosted-engine.conf storage keys naming it.
   */
  private async glusterVolume(): Promise<Array<[string, string]>> {
    const dir = path.join(this.baseDir, "storage");
    this.glusterd = await GlusterService.ensure(path.join(dir, "glusterd"));
    this.volume = await GlusterVolume.create({
      name: uniqueVolumeName("hedemo"),
      brickDir: path.join(dir, "brick"),
    });
    const mnt = path.join(dir, "observer");
    await mkdir(mnt, { recursive: true });
    const r = await runCommand("mount", ["-t", "glusterfs", this.volume.spec, mnt]);
    if (r.code !== 0) throw new Error(`mount ${this.volume.spec} ${mnt}: ${r.output.trim()}`);
    this.observerMount = mnt;
    this.event(`GlusterFS volume ${this.volume.name} started (brick ${this.volume.brickDir})`);
    return [
      ["domainType", "glusterfs"],
      ["storage", this.volume.spec],
    ];
  }

  host(id: number): DemoHost {
    const h = this.hosts.find((x) => x.id === id);
    if (!h) throw new Error(`no host ${id} in this cluster`);
    return h;
  }

  async startAll(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.start()));
    this.event(`brokers and agents started on ${this.hosts.map((h) => h.name).join(", ")}`);
  }

  /** Hosts whose hypervisor runs the engine VM, as of the last sample. */
  get engineHosts(): number[] {
    return [...this.vmHosts];
  }

  private startSampler(): void {
    const tick = async () => {
      if (this.sampling) return;
      this.sampling = true;
      try {
        await this.sampleHypervisors();
      } finally {
        this.sampling = false;
      }
    };
    this.samplerTimer = setInterval(() => void tick(), 500);
    // beside the sampler: a look every 100 ms feeding per-host run intervals, so an
    // overlap shorter than the sampler's period is still caught
    const look = async () => {
      if (this.tracking || !this.vmId) return;
      this.tracking = true;
      try {
        await Promise.all(
          this.hosts.map(async (h) => {
            let running = false;
            if (h.libvirtd?.running) {
              try {
                const st = await this.hypervisors.get(h.id)!.domainState(this.vmId);
                running = st !== null && RUNNING_STATES.has(st.state);
              } catch {
                running = false;
              }
            }
            this.runs.observe(h.id, running, this.elapsed());
          }),
        );
      } finally {
        this.tracking = false;
      }
    };
    this.trackerTimer = setInterval(() => void look(), 100);
  }

  get sampleCount(): number {
    return this.samples;
  }

  /** One look at every host's hypervisor; records double runs; drives the engine's health page. */
  async sampleHypervisors(): Promise<number[]> {
    if (!this.vmId) return [];
    const running: number[] = [];
    await Promise.all(
      this.hosts.map(async (h) => {
        if (!h.libvirtd?.running) return;
        try {
          const st = await this.hypervisors.get(h.id)!.domainState(this.vmId);
          if (st && RUNNING_STATES.has(st.state)) running.push(h.id);
        } catch {
          // hypervisor unreachable: its VMs cannot be running (libvirtd gone)
        }
      }),
    );
    running.sort((a, b) => a - b);
    this.samples++;
    if (running.join() !== this.vmHosts.join()) {
      this.event(
        running.length
          ? `engine VM running on host ${running.join(" and host ")}`
          : "engine VM running nowhere",
      );
    }
    this.vmHosts = running;
    if (running.length === 0) this.samplesWithoutVm.push(this.samples);
    if (running.length > 1) {
      this.doubleRuns.push({ t: this.elapsed(), hosts: running });
      this.event(`!! ENGINE VM RUNS TWICE: hosts ${running.join(", ")}`);
    }
    this.engineWeb.setUp(running.length >= 1);
    return running;
  }

  /** Reads the whiteboard straight from the shared metadata volume. */
  async readWhiteboard(): Promise<WhiteboardSnapshot | undefined> {
    if (!this.storage) return undefined;
    const vol = await MetadataVolume.open(this.storage.volumes.metadata.path, {
      readOnly: true,
      sectorSize: this.storage.geometry.sectorSize,
    });
    try {
      return decodeWhiteboard(await vol.readAll());
    } finally {
      await vol.close();
    }
  }

  /**
   * Which hosts' sanlock daemons hold both lockspaces (`hosted-engine` and the storage
   * domain's) and the engine VM's lease (the engine disk's volume lease).
   */
  async leases(): Promise<Map<number, { lockspace: boolean; vmLease: boolean }>> {
    const out = new Map<number, { lockspace: boolean; vmLease: boolean }>();
    if (!this.storage) return out;
    const sd = this.storage.sdUUID;
    const volume = this.storage.engineDisk.volumeUUID;
    await Promise.all(
      this.hosts.map(async (h) => {
        // a stopped daemon (a fault) answers nobody: no status rather than a hung one
        if (!h.sanlock?.running || h.sanlock.stopped) return;
        const { code, output } = await h.sanlock
          .client(["client", "status"])
          .catch(() => ({ code: -1, output: "" }));
        if (code !== 0) return;
        const st = parseClientStatus(output);
        const joined = new Set(st.lockspaces.map((l) => l.name));
        out.set(h.id, {
          lockspace: joined.has(HE_LOCKSPACE) && joined.has(sd),
          vmLease: st.resources.some((r) => r.lockspace === sd && r.resource === volume),
        });
      }),
    );
    return out;
  }

  /** A full sample for the live view and the timeline. */
  async sample(scenario: string, phase: string): Promise<ClusterSample> {
    const now = monotonicSeconds();
    const [wb, leases] = await Promise.all([
      this.readWhiteboard().catch(() => undefined),
      this.leases(),
    ]);
    const rows: HostRow[] = this.hosts.map((h) => {
      const b = wb?.hosts.get(h.id);
      if (b) {
        const prev = this.lastTimestamps.get(h.id);
        if (!prev || prev.ts !== b.timestamp)
          this.lastTimestamps.set(h.id, { ts: b.timestamp, changedAt: now });
      }
      const seen = this.lastTimestamps.get(h.id);
      const alive =
        seen === undefined ? false : now - seen.changedAt <= this.profile.timing.host_alive_timeout;
      const l = leases.get(h.id);
      return {
        id: h.id,
        name: h.name,
        processes: h.processesState,
        state: b?.extra.state ?? "-",
        score: b?.score,
        vm: this.vmHosts.includes(h.id) ? "running" : h.libvirtd?.running ? "-" : "?",
        health: b?.engineStatus ? `${b.engineStatus.vm}/${b.engineStatus.health}` : "-",
        alive,
        lockspace: l?.lockspace,
        vmLease: l?.vmLease,
        maintenance: b?.maintenance ?? false,
      };
    });
    return {
      t: this.elapsed(),
      scenario,
      phase,
      globalMaintenance: wb?.global.maintenance ?? false,
      hosts: rows,
      events: this.events,
    };
  }

  /** Polls until `check` holds (sampling hypervisors meanwhile); throws with `what` on timeout. */
  async waitFor(
    what: string,
    check: () => Promise<boolean> | boolean,
    timeoutSeconds: number,
  ): Promise<number> {
    const t0 = this.elapsed();
    const deadline = t0 + timeoutSeconds;
    for (;;) {
      if (await check()) return this.elapsed() - t0;
      if (this.elapsed() > deadline)
        throw new Error(`timed out after ${timeoutSeconds}s waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The published state of each host (whiteboard `state` key), by host id. */
  async states(): Promise<
    Map<number, { state: string; score: number; health: string | undefined }>
  > {
    const wb = await this.readWhiteboard().catch(() => undefined);
    const out = new Map<number, { state: string; score: number; health: string | undefined }>();
    for (const [id, b] of wb?.hosts ?? []) {
      out.set(id, { state: b.extra.state ?? "", score: b.score, health: b.engineStatus?.health });
    }
    return out;
  }

  /** Destroys the engine VM on a host's hypervisor (the guest crashed). */
  async destroyVm(hostId: number): Promise<void> {
    await this.hypervisors.get(hostId)!.destroyDomain(this.vmId);
    this.event(`engine VM destroyed on host${hostId} (simulated crash)`);
  }

  /** Ends every process by pid, removes bridges and (when ours) the base directory. */
  async teardown(): Promise<void> {
    if (this.samplerTimer) clearInterval(this.samplerTimer);
    if (this.trackerTimer) clearInterval(this.trackerTimer);
    this.samplerTimer = undefined;
    for (const hv of this.hypervisors.values()) await hv.close().catch(() => undefined);
    this.hypervisors.clear();
    await Promise.all(this.hosts.map((h) => h.teardown().catch(() => undefined)));
    if (this.observerMount) await runCommand("umount", ["-l", this.observerMount]);
    this.observerMount = undefined;
    await this.volume?.destroy().catch(() => undefined);
    this.volume = undefined;
    await this.glusterd?.release().catch(() => undefined);
    await this.luns?.detach();
    this.luns = undefined;
    await this.engineWeb.stop().catch(() => undefined);
    await this.mail.stop().catch(() => undefined);
    // HE_HA_DEMO_KEEP=1 keeps the hosts' directories (logs, storage) for a post-mortem.
    if (this.ownsBaseDir && this.baseDir && !process.env.HE_HA_DEMO_KEEP)
      await rm(this.baseDir, { recursive: true, force: true });
    process.removeListener("exit", this.exitHook);
  }

  /** The last lines of every host's agent and broker log, for a failed run's report. */
  async logTails(lines = 15): Promise<string[]> {
    const out: string[] = [];
    for (const h of this.hosts) {
      for (const name of ["agent.log", "broker.log"]) {
        const text = await readFile(path.join(h.logDir, name), "utf8").catch(() => "");
        const tail = text.trimEnd().split("\n").slice(-lines);
        out.push(`--- ${h.name} ${name}`, ...tail);
      }
    }
    return out;
  }
}

/** --storage local: a plain directory, named to every host by domain_path */
const LOCAL_STORAGE_CONF: Array<[string, string]> = [
  ["domainType", "posixfs"],
  ["storage", "demo:/he"],
];

/** hosted-engine.conf keys every demo host shares (storage keys come from storage init). */
function sharedHostConf(fqdn: string): Array<[string, string]> {
  return [
    ["fqdn", fqdn],
    ["spUUID", "00000000-0000-0000-0000-000000000000"],
    ["vdsm_use_ssl", "False"],
  ];
}
