import pino from "pino";
import { AgentDaemon, type AgentExit } from "../agent/daemon.js";
import { EngineVm } from "../agent/engine-vm.js";
import type { AgentEnv, ConfigSource } from "../agent/env.js";
import type { AgentConf } from "../common/agent-conf.js";
import type { HaConf } from "../common/ha-conf.js";
import type { HostConfig } from "../common/host-config.js";
import type { HostTime } from "../common/host-time.js";
import type { Logger } from "../common/log.js";
import { haPaths } from "../common/paths.js";
import { HE_LOCKSPACE } from "../sanlock/names.js";
import type { EngineLease } from "../storage/engine-lease.js";
import type { VmConf } from "../storage/ovf/vmconf-types.js";
import { type AgentRecord, timelineText } from "./agent-log.js";
import { type SimMonitors, SimStartFailure } from "./broker-env.js";
import { SimBrokerProcess } from "./broker-process.js";
import { SimHypervisor } from "./hypervisor.js";
import type { SimSanlock } from "./sanlock.js";
import type { VirtualScheduler } from "./scheduler.js";
import type { SimWhiteboard } from "./whiteboard.js";

/** What every host of a simulated cluster shares. */
export interface SimShared {
  sched: VirtualScheduler;
  sanlock: SimSanlock;
  whiteboard: SimWhiteboard;
  agentConf: AgentConf;
  vmConf: VmConf;
  lease: EngineLease;
  engineBootSeconds: number;
  guestShutdownSeconds: number;
  /** adds a line to the timeline */
  event: (who: string, text: string) => void;
}

/** A host's monotonic clock starts at this many seconds of uptime when it boots. */
const UPTIME_AT_BOOT = 100;
/** The wall clock (Unix seconds) when the simulated cluster starts. */
const WALL_AT_START = 1_700_000_000;

const never = new Promise<never>(() => {});

/**
 * One simulated HA host: sanlock daemon, hypervisor, broker and the real AgentDaemon,
 * wired through in-memory ports on the cluster's virtual clock.
 */
export class SimHost {
  readonly name: string;
  readonly hypervisor: SimHypervisor;
  readonly broker: SimBrokerProcess;
  /** the host's clocks and timers on the cluster's virtual clock */
  readonly time: HostTime;
  readonly startFailure: SimStartFailure;
  readonly monitors: SimMonitors;
  readonly haConf: HaConf = {
    localMaintenance: false,
    localMaintenanceManual: false,
    other: new Map(),
  };
  storageOk = true;
  powered = false;
  private bootedAt = 0;
  private agent: { daemon: AgentDaemon; abort: AbortController; dead: boolean } | null = null;
  private agentExit: Promise<AgentExit> | null = null;

  constructor(
    readonly id: number,
    readonly hostConf: HostConfig,
    monitors: SimMonitors,
    private readonly s: SimShared,
  ) {
    this.name = `host${id}`;
    this.monitors = { ...monitors };
    this.time = {
      now: () => this.clock(),
      wallMs: () => (WALL_AT_START + s.sched.now) * 1000,
      after: (seconds, fn) => s.sched.after(seconds, fn),
    };
    this.startFailure = new SimStartFailure(() => this.time.wallMs());
    this.hypervisor = new SimHypervisor(
      s.sched,
      { engineBootSeconds: s.engineBootSeconds, guestShutdownSeconds: s.guestShutdownSeconds },
      (text) => this.event(text),
    );
    this.broker = new SimBrokerProcess({
      hostId: id,
      time: this.time,
      timing: s.agentConf.timing,
      whiteboard: s.whiteboard,
      hypervisor: this.hypervisor,
      monitors: this.monitors,
      startFailure: this.startFailure,
      storageOk: () => this.storageOk,
      holdsHostId: () => s.sanlock.holds(id, HE_LOCKSPACE),
      event: (text) => this.event(text),
    });
  }

  event(text: string): void {
    this.s.event(this.name, text);
  }

  /** monotonic seconds of this host (uptime) */
  clock(): number {
    return this.s.sched.now - this.bootedAt + UPTIME_AT_BOOT;
  }

  get agentRunning(): boolean {
    return this.agent !== null;
  }

  /** the agent's current state machine state, null when no agent runs */
  get state(): string | null {
    return this.agent?.daemon.state ?? null;
  }

  /** Powers the host on: sanlock, libvirt, broker, agent. */
  boot(): void {
    if (this.powered) return;
    this.powered = true;
    this.bootedAt = this.s.sched.now;
    this.hypervisor.up = true;
    this.s.sanlock.startDaemon(this.id, () => {
      if (this.hypervisor.destroy()) this.event("vm: killed by sanlock (kill path)");
    });
    this.s.sanlock.setStorage(this.id, this.storageOk);
    this.broker.start();
    this.startAgent();
  }

  /** Power loss: everything on the host stops at once; nothing is released on disk. */
  kill(): void {
    if (!this.powered) return;
    this.powered = false;
    this.killAgent();
    this.broker.stop();
    this.hypervisor.destroy();
    this.s.sanlock.crash(this.id);
  }

  setStorage(ok: boolean): void {
    this.storageOk = ok;
    this.s.sanlock.setStorage(this.id, ok);
  }

  startAgent(): void {
    if (this.agent || !this.powered) return;
    const abort = new AbortController();
    const slot = { dead: false } as { daemon: AgentDaemon; abort: AbortController; dead: boolean };
    const sched = this.s.sched;
    // a killed agent never wakes up again
    const gate = <T>(p: Promise<T>): Promise<T> => p.then((v) => (slot.dead ? never : v));
    const log = this.agentLogger(slot);
    const config: ConfigSource = staticConfig(this.s.vmConf, () => this.clock());
    const env: AgentEnv = {
      clock: () => this.clock(),
      wallSeconds: () => this.time.wallMs() / 1000,
      sleep: (ms, signal) => gate(sched.sleep(ms, signal)),
      readHaConf: async () => this.haConf,
      config,
    };
    const lockspace = this.s.sanlock.lockspacePort(this.id);
    const engine = new EngineVm({
      vm: this.hypervisor,
      resolveLeases: async () => [this.s.lease],
      leasePort: (g) => this.s.sanlock.vmLeasePort(this.id, g.lockspace, g.resource),
      startFailures: this.startFailure,
      log,
    });
    slot.abort = abort;
    slot.daemon = new AgentDaemon({
      hostConf: this.hostConf,
      agentConf: this.s.agentConf,
      paths: haPaths(`/sim/${this.name}`),
      volumes: {
        domain: `/sim/sd/${this.hostConf.sdUUID}`,
        metadata: "/sim/sd/metadata",
        lockspace: "/sim/sd/lockspace",
        conf: "/sim/sd/conf",
        ids: `/sim/sd/${this.hostConf.sdUUID}/dom_md/ids`,
        xleases: `/sim/sd/${this.hostConf.sdUUID}/dom_md/xleases`,
      },
      log,
      broker: this.broker.client,
      lockspace: {
        addLockspace: (spec) => gate(lockspace.addLockspace(spec)),
        inqLockspace: (spec) => lockspace.inqLockspace(spec),
        remLockspace: (spec) => lockspace.remLockspace(spec),
      },
      engine,
      hostname: this.name,
      env,
    });
    this.agent = slot;
    this.event("agent: started");
    const exit = slot.daemon.run(abort.signal).then((r) => {
      if (this.agent === slot) this.agent = null;
      this.event(`agent: exited (${r.code}: ${r.reason})`);
      return r;
    });
    this.agentExit = exit;
  }

  /** SIGTERM: the agent publishes AgentStopped, leaves the lockspaces, keeps the VM. */
  stopAgent(): Promise<AgentExit | null> {
    const a = this.agent;
    if (!a) return Promise.resolve(null);
    a.abort.abort();
    return this.agentExit ?? Promise.resolve(null);
  }

  /** SIGKILL: the agent vanishes mid-sleep; its VM and lease stay (orphan). */
  killAgent(): void {
    const a = this.agent;
    if (!a) return;
    a.dead = true;
    this.agent = null;
    this.event("agent: killed");
  }

  /** `he-ha vm start`: lease then VM, through the same owner the agent uses. */
  async vmStart(): Promise<void> {
    const r = await this.cliEngine().start(this.s.vmConf);
    this.event(r.started ? "he-ha vm start: started" : `he-ha vm start: refused: ${r.reason}`);
  }

  /** `he-ha vm poweroff`: the VM and its lease through the same owner the agent uses. */
  async vmPowerOff(): Promise<void> {
    const engine = this.cliEngine();
    await engine.prepare(this.s.vmConf);
    await engine.powerOff();
  }

  private cliEngine(): EngineVm {
    return new EngineVm({
      vm: this.hypervisor,
      resolveLeases: async () => [this.s.lease],
      leasePort: (g) => this.s.sanlock.vmLeasePort(this.id, g.lockspace, g.resource),
      startFailures: this.startFailure,
      log: pino({ level: "silent" }),
    });
  }

  private agentLogger(slot: { dead: boolean }): Logger {
    return pino(
      { level: "debug", base: null, timestamp: false },
      {
        write: (line: string) => {
          if (slot.dead) return;
          const text = timelineText(JSON.parse(line) as AgentRecord);
          if (text !== null) this.event(text);
        },
      },
    );
  }
}

/** The configuration as read from the shared storage once, at the first refresh. */
function staticConfig(vmConf: VmConf, clock: () => number): ConfigSource {
  let refreshed = false;
  const state = {
    vmConfText: "",
    vmConf,
    vmConfSource: "ovf" as const,
    refreshTime: 0,
    confOnSharedStorage: true,
  };
  return {
    get state() {
      return state;
    },
    async refresh() {
      if (!refreshed) {
        refreshed = true;
        state.refreshTime = Math.trunc(clock());
      }
      return state;
    },
  };
}
