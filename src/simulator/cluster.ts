import { DEFAULT_SCORE_CONFIG, type ScoreConfig } from "../common/agent-conf.js";
import { hostConfigFrom } from "../common/host-config.js";
import { parseBool } from "../common/keyvalue.js";
import { resolveTiming } from "../common/timing.js";
import { parseVmConf } from "../storage/ovf/vmconf.js";
import { encodeGlobalBlock } from "../storage/whiteboard/global-block.js";
import { DEFAULT_MONITORS, type SimMonitors } from "./broker-env.js";
import { SimHost } from "./host.js";
import { SeededRandom } from "./random.js";
import { SimSanlock } from "./sanlock.js";
import { type Scenario, ScenarioError } from "./scenario.js";
import { VirtualScheduler } from "./scheduler.js";
import { formatState } from "./state.js";
import type { TimelineEntry } from "./timeline.js";
import { SimWhiteboard } from "./whiteboard.js";

const SD_UUID = "5e1f6a4b-0000-4000-8000-00000000005d";
const VM_UUID = "e0e0e0e0-0000-4000-8000-0000000000e0";
const ENGINE_IMAGE = "1a1a1a1a-0000-4000-8000-00000000001a";
const ENGINE_VOLUME = "2b2b2b2b-0000-4000-8000-00000000002b";

/** The engine VM's vm.conf in every simulated cluster (memSize counts for the memory penalty). */
const VM_CONF = `vmId=${VM_UUID}
vmName=HostedEngine
memSize=4096
smp=2
devices={type:disk,device:disk,domainID:${SD_UUID},imageID:${ENGINE_IMAGE},volumeID:${ENGINE_VOLUME}}
`;

/** Something that went wrong that must never happen, whatever the interleaving. */
export interface InvariantViolation {
  t: number;
  invariant: "one-engine-vm" | "vm-holds-lease";
  detail: string;
}

export interface SimResult {
  entries: TimelineEntry[];
  violations: InvariantViolation[];
  /** each host's state machine state at the end (null: no agent running) */
  finalStates: Record<string, string | null>;
  /** hosts running the engine VM at the end */
  vmRunningOn: string[];
  /** the whiteboard at the end, as a scenario's `state` file holds it (state.ts) */
  state: string;
}

export interface RunOptions {
  /** shuffle same-instant events and stagger boots by this seed; none = the scenario's fixed order */
  seed?: number;
}

const MONITOR_KEYS: Record<string, keyof SimMonitors> = {
  network: "network",
  bridge: "bridge",
  cpu: "cpu",
  memory: "memory",
  storage: "storage",
};

/**
 * A simulated hosted-engine cluster driven by a scenario: N hosts each running the real
 * AgentDaemon over in-memory ports (SimHost), one shared whiteboard, one sanlock model,
 * one virtual clock. `run` executes the timed commands and returns the timeline and
 * the invariants that failed.
 */
export class SimCluster {
  readonly sched: VirtualScheduler;
  readonly hosts = new Map<number, SimHost>();
  private readonly entries: TimelineEntry[] = [];
  private readonly violations: InvariantViolation[] = [];
  private readonly seen = new Set<string>();
  private readonly duration: number;
  private readonly bootAt: Map<number, number>;
  readonly sanlock: SimSanlock;
  readonly whiteboard = new SimWhiteboard();

  constructor(
    private readonly scenario: Scenario,
    opts: RunOptions = {},
  ) {
    const conf = scenario.config;
    const file = `${scenario.dir}/cluster.conf`;
    const num = (key: string, dflt: number): number => {
      const raw = conf.get(key);
      if (raw === undefined) return dflt;
      const n = Number(raw);
      if (!Number.isFinite(n) || n < 0)
        throw new ScenarioError(file, 0, `${key}="${raw}" is not a non-negative number`);
      return n;
    };
    this.sched = new VirtualScheduler(opts.seed ?? null);
    const random = opts.seed === undefined ? null : new SeededRandom(opts.seed ^ 0x5eed);
    const score: Record<string, number> = { ...DEFAULT_SCORE_CONFIG };
    const timing: Record<string, string> = {};
    for (const [k, v] of conf) {
      if (k.startsWith("score.")) {
        const key = k.slice(6);
        if (!(key in score)) throw new ScenarioError(file, 0, `unknown score key ${key}`);
        score[key] = num(k, 0);
      } else if (k.startsWith("timing.")) timing[k.slice(7)] = v;
    }
    const agentConf = { score: score as unknown as ScoreConfig, timing: resolveTiming(timing) };
    const count = num("hosts", 2);
    if (!Number.isInteger(count) || count < 1 || count > 64)
      throw new ScenarioError(file, 0, `hosts=${count}: expected 1..64`);
    this.duration = num("duration", 600);
    const ioTimeout = num("io_timeout", 10);
    const ignoreResourceOwners = parseBool(conf.get("unsafe_ignore_leases")) === true;
    this.sanlock = new SimSanlock(this.sched, { ioTimeout, ignoreResourceOwners }, (id, text) =>
      this.add(`host${id}`, text),
    );
    const shared = {
      sched: this.sched,
      sanlock: this.sanlock,
      whiteboard: this.whiteboard,
      agentConf,
      vmConf: parseVmConf(VM_CONF, "simulated vm.conf"),
      lease: {
        lockspace: SD_UUID,
        resource: ENGINE_VOLUME,
        path: `/sim/sd/${SD_UUID}/images/${ENGINE_IMAGE}/${ENGINE_VOLUME}.lease`,
        offset: 0,
        kind: "volume" as const,
        source: "ovf-lease" as const,
        from: "the engine disk's volume lease",
      },
      engineBootSeconds: num("engine_boot", 60),
      guestShutdownSeconds: num("guest_shutdown", 30),
      event: (who: string, text: string) => this.add(who, text),
    };
    const booted = (conf.get("boot") ?? "all").trim();
    const bootWords = booted === "all" || booted === "" ? [] : booted.split(/[\s,]+/);
    this.bootAt = new Map();
    for (let id = 1; id <= count; id++) {
      const monitors: SimMonitors = { ...DEFAULT_MONITORS };
      for (const [name, key] of Object.entries(MONITOR_KEYS)) {
        const raw = conf.get(`host${id}.${name}`);
        if (raw !== undefined) setMonitor(monitors, key, raw, `${file}: host${id}.${name}`);
      }
      const hostConf = hostConfigFrom(
        new Map([
          ["host_id", String(id)],
          ["sdUUID", SD_UUID],
          ["vmid", VM_UUID],
          ["fqdn", "engine.sim"],
          ["gateway", "192.0.2.1"],
          ["sanlock_io_timeout", String(ioTimeout)],
          ["vm_lease_holder", "agent"],
        ]),
        `${file} (host${id})`,
      );
      const host = new SimHost(id, hostConf, monitors, shared);
      if (parseBool(conf.get(`host${id}.local_maintenance`))) host.haConf.localMaintenance = true;
      this.hosts.set(id, host);
    }
    const bootList =
      booted === "all" ? null : new Set(bootWords.map((h) => this.hostId(h, file, 0)));
    for (const id of this.hosts.keys())
      if (bootList === null || bootList.has(id))
        this.bootAt.set(id, random ? random.int(agentConf.timing.loop_delay) : 0);
    for (const [index, seg] of scenario.state ?? []) this.whiteboard.write(index, seg);
    if (parseBool(conf.get("global_maintenance")))
      this.whiteboard.write(0, encodeGlobalBlock({ maintenance: true, unknown: {} }));
  }

  private hostId(word: string | undefined, file: string, line: number): number {
    const m = /^host(\d+)$/.exec(word ?? "");
    const id = m ? Number(m[1]) : Number.NaN;
    if (!this.hosts.has(id))
      throw new ScenarioError(file, line, `"${word}" is not a host of this cluster (host1..)`);
    return id;
  }

  private add(who: string, text: string): void {
    this.entries.push({ t: this.sched.now, who, text });
  }

  /** Runs the scenario to its duration; never throws for what happens inside the cluster. */
  async run(): Promise<SimResult> {
    for (const [id, at] of this.bootAt) this.sched.after(at, () => this.host(id).boot());
    for (const c of this.scenario.commands) {
      this.sched.after(c.t, () => {
        this.add("", `>> ${c.words.join(" ")}`);
        this.exec(c.words, c.line);
      });
    }
    // validate every command before running any
    for (const c of this.scenario.commands) this.validate(c.words, c.line);
    await this.sched.runUntil(this.duration, () => this.checkInvariants());
    const finalStates: Record<string, string | null> = {};
    for (const h of this.hosts.values()) {
      finalStates[h.name] = h.state;
      this.add(
        h.name,
        `end: ${h.powered ? (h.state ?? "no agent") : "powered off"}${h.hypervisor.running ? ", engine VM running here" : ""}`,
      );
    }
    return {
      entries: this.entries,
      violations: this.violations,
      finalStates,
      vmRunningOn: [...this.hosts.values()].filter((h) => h.hypervisor.running).map((h) => h.name),
      state: formatState(this.whiteboard.read()),
    };
  }

  private host(id: number): SimHost {
    return this.hosts.get(id)!;
  }

  private checkInvariants(): void {
    const running = [...this.hosts.values()].filter((h) => h.hypervisor.running);
    if (running.length > 1)
      this.violate(
        "one-engine-vm",
        `engine VM running on ${running.map((h) => h.name).join(", ")}`,
      );
    const lease = this.sanlockLease();
    for (const h of running) {
      const owner = this.sanlock.owner(lease.lockspace, lease.resource);
      if (owner?.hostId !== h.id)
        this.violate("vm-holds-lease", `engine VM runs on ${h.name} without its lease`);
    }
  }

  private sanlockLease(): { lockspace: string; resource: string } {
    return { lockspace: SD_UUID, resource: ENGINE_VOLUME };
  }

  private violate(invariant: InvariantViolation["invariant"], detail: string): void {
    const key = `${invariant}:${detail}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.violations.push({ t: this.sched.now, invariant, detail });
    this.add("", `!! invariant broken: ${detail}`);
  }

  private validate(words: string[], line: number): void {
    this.exec(words, line, true);
  }

  /** Runs (or, with `dryRun`, only checks) one command. */
  private exec(words: string[], line: number, dryRun = false): unknown {
    const file = `${this.scenario.dir}/cmds`;
    const [cmd, a1, a2, a3] = words;
    const bad = (why: string) => new ScenarioError(file, line, why);
    const onOff = (w: string | undefined): boolean => {
      if (w === "on") return true;
      if (w === "off") return false;
      throw bad(`expected on or off, got "${w ?? ""}"`);
    };
    const hostCmd = (fn: (h: SimHost) => unknown): undefined => {
      const h = this.host(this.hostId(a1, file, line));
      if (!dryRun) void fn(h);
      return undefined;
    };
    switch (cmd) {
      case "kill":
        return hostCmd((h) => {
          h.kill();
          h.event("host: powered off hard");
        });
      case "boot":
        return hostCmd((h) => h.boot());
      case "cut-storage":
        return hostCmd((h) => h.setStorage(false));
      case "restore-storage":
        return hostCmd((h) => h.setStorage(true));
      case "stop-agent":
        return hostCmd((h) => h.stopAgent());
      case "start-agent":
        return hostCmd((h) => h.startAgent());
      case "kill-agent":
        return hostCmd((h) => h.killAgent());
      case "restart-agent":
        return hostCmd(async (h) => {
          await h.stopAgent();
          h.startAgent();
        });
      case "stop-broker":
        return hostCmd((h) => h.broker.stop());
      case "start-broker":
        return hostCmd((h) => h.broker.start());
      case "restart-broker":
        return hostCmd((h) => {
          h.broker.stop();
          h.broker.start();
        });
      case "crash-vm":
        return hostCmd((h) => {
          if (h.hypervisor.destroy()) h.event("vm: qemu crashed");
        });
      case "pause-vm":
        return hostCmd((h) => h.hypervisor.pause(true));
      case "resume-vm":
        return hostCmd((h) => h.hypervisor.pause(false));
      case "vm-poweroff":
        return hostCmd((h) => h.vmPowerOff());
      case "fail-next-start":
      case "fail-next-shutdown":
      case "fail-next-poweroff": {
        const op = cmd.slice("fail-next-".length) as "start" | "shutdown" | "poweroff";
        return hostCmd((h) => {
          h.hypervisor.failNext[op] =
            words.slice(2).join(" ") || `internal error: simulated ${op} failure`;
        });
      }
      case "vm-start":
        return hostCmd((h) => h.vmStart());
      case "libvirt": {
        const up = a2 === "up" ? true : a2 === "down" ? false : null;
        if (up === null) throw bad(`libvirt ${a1} up|down, got "${a2 ?? ""}"`);
        return hostCmd((h) => {
          h.hypervisor.up = up;
        });
      }
      case "newer-agent": {
        // a host outside the simulation running an agent of a newer metadata format
        const id = Number(/^host(\d+)$/.exec(a1 ?? "")?.[1] ?? Number.NaN);
        if (!Number.isInteger(id) || id < 1 || id > 2000 || this.hosts.has(id))
          throw bad(
            `newer-agent hostN: N must be a host id outside the cluster, got "${a1 ?? ""}"`,
          );
        if (!dryRun)
          this.whiteboard.write(
            id,
            Buffer.from(`2|2|${Math.trunc(this.sched.now)}|${id}|3400|{}|${a1}|0|0|00000000|1|0`),
          );
        return;
      }
      case "local-maintenance": {
        const on = onOff(a2);
        return hostCmd((h) => {
          h.haConf.localMaintenance = on;
          h.haConf.localMaintenanceManual = on;
        });
      }
      case "global-maintenance": {
        const on = onOff(a1);
        if (dryRun) return;
        // written through a running broker, as `he-ha maintenance --mode=global` does
        const via = [...this.hosts.values()].find((h) => h.powered && h.broker.up);
        const block = encodeGlobalBlock({ maintenance: on, unknown: {} });
        if (via) via.broker.queue(0, block);
        else this.whiteboard.write(0, block);
        return;
      }
      case "set": {
        const key = MONITOR_KEYS[a2 ?? ""];
        if (a2 === "engine-health") {
          const good = a3 === "good" ? true : a3 === "bad" ? false : null;
          if (good === null) throw bad(`set ${a1} engine-health good|bad, got "${a3 ?? ""}"`);
          return hostCmd((h) => {
            h.hypervisor.engineHealthy = good;
          });
        }
        if (!key)
          throw bad(
            `set ${a1 ?? "<host>"} ${a2 ?? "<what>"}: what is one of network, bridge, cpu, memory, storage, engine-health`,
          );
        const probe: SimMonitors = { ...DEFAULT_MONITORS };
        setMonitor(probe, key, a3 ?? "", `${file}:${line}`);
        return hostCmd((h) => {
          setMonitor(h.monitors, key, a3 ?? "", `${file}:${line}`);
        });
      }
      default:
        throw bad(`unknown command "${cmd}"`);
    }
  }
}

function setMonitor(m: SimMonitors, key: keyof SimMonitors, raw: string, where: string): void {
  if (key === "bridge" || key === "storage") {
    const v =
      raw === "up" || raw === "ok"
        ? true
        : raw === "down" || raw === "bad"
          ? false
          : parseBool(raw);
    if (v === undefined)
      throw new ScenarioError(where, 0, `${key}: expected up/down, got "${raw}"`);
    m[key] = v;
    return;
  }
  const n = Number(raw);
  if (raw === "" || !Number.isFinite(n) || n < 0)
    throw new ScenarioError(where, 0, `${key}: "${raw}" is not a non-negative number`);
  if ((key === "network" || key === "cpu") && n > 1)
    throw new ScenarioError(where, 0, `${key}: ${n} is a ratio, expected 0..1`);
  m[key] = n;
}
