import { hostname as osHostname } from "node:os";
import { BrokerUnreachableError } from "../broker/client.js";
import type { AgentConf } from "../common/agent-conf.js";
import type { HaConf } from "../common/ha-conf.js";
import type { HostConfig } from "../common/host-config.js";
import type { Logger } from "../common/log.js";
import { type ThrottledLogger, throttledLogger } from "../common/log-throttle.js";
import type { HaPaths } from "../common/paths.js";
import { describeGeometry } from "../common/sector-geometry.js";
import type { StateName } from "../common/state-names.js";
import { LockspaceIdConflictError } from "../sanlock/errors.js";
import type { LockspaceSpec } from "../sanlock/lockspace.js";
import { HE_LOCKSPACE } from "../sanlock/names.js";
import { MountNotPermittedError } from "../storage/connect/index.js";
import type { HaVolumes } from "../storage/domain.js";
import { encodeHostBlock } from "../storage/whiteboard/host-block-encode.js";
import { decodeSegments } from "../storage/whiteboard/snapshot.js";
import { BrokerLink } from "./broker-link.js";
import { collectionFrom } from "./collect.js";
import { type AgentMemory, decide, initialMemory, settleDecision } from "./decide.js";
import type { EngineVm } from "./engine-vm.js";
import type { AgentEnv, ConfigSource } from "./env.js";
import { stateScore } from "./fsm/score.js";
import type { Action, FsmContext } from "./fsm/types.js";
import type { Collection } from "./history.js";
import { LockspaceMembership } from "./lockspace-membership.js";
import { hostBlockInput } from "./publish.js";
import { brokerStorageProblem, StorageGuard } from "./storage-guard.js";

export interface AgentDeps {
  hostConf: HostConfig;
  agentConf: AgentConf;
  paths: HaPaths;
  /** the storage domain's HA volumes (src/storage/domain.ts haVolumes) */
  volumes: HaVolumes;
  log: Logger;
  /** everything outside the agent's memory: time, files, broker, sanlock, engine VM, storage */
  env: AgentEnv;
  /** published in the block; default: the system hostname */
  hostname?: string;
  /** called once the agent runs, before it waits for anything (systemd readiness) */
  onReady?: () => void;
  /** what the agent does or waits for, in a few words (systemd STATUS=) */
  onStatus?: (text: string) => void;
}

/** How the agent ended: 0 = asked to stop, non-zero = failure. */
export interface AgentExit {
  code: number;
  reason: string;
}

export interface LoopResult {
  /** wait this long before the next loop */
  delayMs: number;
  /** stop the agent */
  exit?: AgentExit;
}

class ExitError extends Error {
  constructor(readonly exit: AgentExit) {
    super(exit.reason);
  }
}

/**
 * ovirt-ha-agent: waits out local maintenance, joins the lockspace, then every
 * loop_delay seconds (at once after a NOWAIT step) refreshes the configuration,
 * collects, lets the pure state machine decide, performs its action and publishes
 * the block. I/O only here; every decision is in ./fsm and ../score.
 */
export class AgentDaemon {
  readonly link: BrokerLink;
  readonly config: ConfigSource;
  private readonly d: AgentDeps;
  private readonly env: AgentEnv;
  private readonly log: Logger;
  private readonly tlog: ThrottledLogger;
  private readonly clock: () => number;
  private readonly hostId: number;
  private readonly hostname: string;
  /** `hosted-engine` (whiteboard liveness), then the storage domain's (the engine VM's lease) */
  private readonly lockspaces: LockspaceMembership;
  private readonly engine: EngineVm;
  private memory: AgentMemory = initialMemory();
  private lastCollection: Collection | null = null;
  private lastCtx: FsmContext | null = null;
  private haConf: HaConf | null = null;
  private readonly storage: StorageGuard | null;
  private storageDown = false;

  constructor(deps: AgentDeps) {
    this.d = deps;
    this.env = deps.env;
    this.engine = deps.env.engine;
    this.hostId = deps.hostConf.hostId;
    this.log = deps.log.child({ host_id: this.hostId });
    this.tlog = throttledLogger(this.log, { intervalMs: 60_000, now: () => this.clock() * 1000 });
    this.clock = this.env.clock;
    this.hostname = deps.hostname ?? osHostname();
    this.link = new BrokerLink(deps.env.broker, { conf: deps.hostConf, log: this.log });
    this.config = this.env.config;
    this.lockspaces = new LockspaceMembership(
      deps.env.lockspace,
      agentLockspaces(deps.hostConf, deps.volumes),
      this.log,
    );
    this.storage = deps.env.storage
      ? new StorageGuard({
          connector: deps.env.storage,
          log: this.log,
          clock: this.clock,
          onChange: (why) => void this.storageChanged(why),
          remountAfterSeconds: 8 * deps.hostConf.sanlockIoTimeout,
        })
      : null;
  }

  /** the state machine's current state */
  get state(): StateName {
    return this.memory.fsm.state;
  }

  private get timing() {
    return this.d.agentConf.timing;
  }

  /** Runs until `signal` aborts (exit 0) or a fatal condition (non-zero). */
  async run(signal: AbortSignal): Promise<AgentExit> {
    let exit: AgentExit = { code: 0, reason: "stopped" };
    try {
      // ready as soon as it runs: boot never waits on local maintenance or storage
      this.d.onReady?.();
      await this.waitLocalMaintenance(signal);
      if (!signal.aborted) await this.waitStorage(signal);
      if (!signal.aborted) await this.waitGeometry(signal);
      if (!signal.aborted) await this.joinLockspace(signal);
      if (!signal.aborted) await this.adoptRunningVm();
      while (!signal.aborted) {
        const r = await this.loopOnce();
        if (r.exit) {
          exit = r.exit;
          break;
        }
        await this.env.sleep(r.delayMs, signal);
      }
    } catch (e) {
      exit =
        e instanceof ExitError
          ? e.exit
          : e instanceof MountNotPermittedError // issue 12: systemd restarts it to mount
            ? { code: 1, reason: e.message }
            : { code: 1, reason: `unexpected error: ${(e as Error).stack ?? e}` };
      this.log.error({ err: exit.reason }, "agent stopping on error");
    }
    await this.stop();
    return exit;
  }

  /** Start-up: while local maintenance is set, touch no shared storage (behaviour.md §6). */
  async waitLocalMaintenance(signal: AbortSignal): Promise<void> {
    let lastLog = Number.NEGATIVE_INFINITY;
    while (!signal.aborted) {
      const ha = await this.readHa();
      if (!ha.localMaintenance && !ha.localMaintenanceManual) return;
      const now = this.clock();
      if (lastLog === Number.NEGATIVE_INFINITY)
        this.d.onStatus?.("local maintenance: shared storage untouched");
      if (now - lastLog >= 30) {
        lastLog = now;
        this.log.info(
          { file: this.d.paths.haConf },
          "local maintenance set: waiting before touching shared storage",
        );
      }
      await this.env.sleep(this.timing.local_maintenance_poll * 1000, signal);
    }
  }

  /** Connects the storage domain before the lockspace join (issue 12), retrying every loop. */
  private async waitStorage(signal: AbortSignal): Promise<void> {
    while (this.storage && !signal.aborted && !(await this.storage.ensure()))
      await this.env.sleep(this.timing.loop_delay * 1000, signal);
  }

  /**
   * The domain's sector geometry, checked against its volumes, before anything is joined
   * or written: a device with another sector size (or a geometry sanlock cannot use) is
   * logged (once per reason, then throttled) and waited out, touching nothing.
   */
  private async waitGeometry(signal: AbortSignal): Promise<void> {
    const geometry = this.env.geometry;
    if (!geometry) return;
    while (!signal.aborted) {
      try {
        const g = await geometry.resolve();
        this.tlog.reset("geometry");
        if (g) {
          this.lockspaces.useGeometry(g);
          this.log.info(
            { geometry: describeGeometry(g), source: geometry.source },
            "storage domain sector geometry",
          );
        } else
          this.log.info(
            { source: geometry.source },
            "the storage domain declares no sector geometry: sanlock reads it from each lease",
          );
        return;
      } catch (e) {
        this.d.onStatus?.(`storage not usable: ${(e as Error).message}`);
        this.tlog.error(
          "geometry",
          { err: e as Error },
          `storage domain sector geometry refused (${(e as Error).message}): touching nothing, will retry`,
        );
      }
      await this.env.sleep(this.timing.loop_delay * 1000, signal);
    }
  }

  /** A storage outage began (why) or ended (null): say so (STATUS=, notification). */
  private async storageChanged(why: string | null): Promise<void> {
    this.d.onStatus?.(why ? `waiting for storage: ${why}` : "storage connected");
    // one mail when the outage begins, one when it ends (not one per change of reason)
    if ((why !== null) === this.storageDown) return;
    this.storageDown = why !== null;
    try {
      await this.link.call("notify", (b) =>
        b.notify("state_transition", why ? "StorageDown" : "StorageUp", {
          hostname: this.hostname,
        }),
      );
    } catch (e) {
      this.log.warn({ err: e as Error }, "could not send the storage notification");
    }
  }

  /** Joins the lockspaces, retrying until it works; another id held by sanlock is fatal. */
  async joinLockspace(signal: AbortSignal): Promise<void> {
    this.d.onStatus?.("joining the sanlock lockspace");
    while (!signal.aborted) {
      try {
        if (await this.lockspaces.join()) return;
      } catch (e) {
        if (e instanceof LockspaceIdConflictError)
          throw new ExitError({ code: 1, reason: e.message });
        throw e;
      }
      await this.env.sleep(this.timing.loop_delay * 1000, signal);
    }
  }

  /** Checks the lockspaces every loop and rejoins one that was lost. */
  private async ensureLockspace(): Promise<boolean> {
    try {
      return await this.lockspaces.check();
    } catch (e) {
      if (e instanceof LockspaceIdConflictError)
        throw new ExitError({ code: 1, reason: e.message });
      throw e;
    }
  }

  /** After a restart: a VM still running here keeps its lease (adopted from the orphan). */
  private async adoptRunningVm(): Promise<void> {
    try {
      const cfg = await this.config.refresh();
      await this.engine.adoptAtStartup(cfg.vmConf ?? null);
    } catch (e) {
      this.log.warn({ err: e as Error }, "cannot check the engine VM at start-up");
    }
  }

  private async readHa(): Promise<HaConf> {
    try {
      this.haConf = await this.env.readHaConf();
    } catch (e) {
      this.log.error(
        { file: this.d.paths.haConf, err: e as Error },
        "cannot read ha.conf: keeping the last value",
      );
    }
    return (
      this.haConf ?? { localMaintenance: false, localMaintenanceManual: false, other: new Map() }
    );
  }

  /** One loop: refresh, collect, check the lockspace, decide, act, publish. */
  async loopOnce(): Promise<LoopResult> {
    const loopDelayMs = this.timing.loop_delay * 1000;
    const t0 = this.clock();
    // issue 12: an unusable storage domain means no decision at all, and a reconnect try
    if (this.storage && !(await this.storage.ensure())) return { delayMs: loopDelayMs };
    const cfg = await this.config.refresh();
    let stats: Map<number, Buffer>;
    let monitors: Awaited<ReturnType<BrokerLink["monitorValues"]>>;
    try {
      const input = await this.link.call("collect", (b) => b.collect());
      const health = input.storage;
      this.storage?.brokerSays(brokerStorageProblem(health, null));
      if (health.stale) {
        this.tlog.error(
          "no-decision",
          { err: health.last_read_error },
          "the broker cannot read the shared storage: no decision on stale data",
        );
        return { delayMs: loopDelayMs };
      }
      stats = input.stats;
      monitors = await this.link.monitorValues(input.monitors);
      const why = brokerStorageProblem(health, monitors["storage-domain"]);
      this.storage?.brokerSays(why);
      if (why && this.storage) {
        this.tlog.error("no-decision", { why }, "storage domain unusable: no decision this loop");
        return { delayMs: loopDelayMs };
      }
    } catch (e) {
      if (e instanceof BrokerUnreachableError) return { delayMs: this.link.nextBackoffMs() };
      this.tlog.error(
        "no-decision",
        { err: e as Error },
        "cannot collect from the broker: no decision this loop",
      );
      return { delayMs: loopDelayMs };
    }
    const haConf = await this.readHa();
    if (!(await this.ensureLockspace())) {
      this.tlog.error("no-decision", {}, "not in the sanlock lockspace: no decision this loop");
      return { delayMs: loopDelayMs };
    }
    this.tlog.reset("no-decision");
    const vmActiveHere = await this.engine.isActive().catch((e: unknown) => {
      // null = the hypervisor cannot tell: the engine-health monitor's status decides
      this.log.debug({ err: e }, "cannot ask the hypervisor whether the engine VM runs here");
      return null;
    });
    const snapshot = decodeSegments(stats);
    for (const err of snapshot.errors)
      this.log.debug(
        { segment: err.hostId, kind: err.kind, err: err.reason },
        "ignoring a metadata block",
      );
    const collection = collectionFrom({
      hostId: this.hostId,
      snapshot,
      monitors,
      haConf,
      collectStart: Math.trunc(t0),
      collectFinish: Math.trunc(this.clock()),
      vmActiveHere,
    });
    const decision = decide(this.memory, collection, {
      hostId: this.hostId,
      scoreConfig: this.d.agentConf.score,
      timing: this.timing,
      confUpToDate: cfg.confOnSharedStorage,
      vmMemSizeMb: cfg.vmConf?.memSize ?? null,
    });
    this.lastCollection = collection;
    this.lastCtx = decision.ctx;
    if (decision.result.exit) {
      this.memory = { ...this.memory, history: decision.history };
      this.log.error({ state: this.memory.fsm.state }, decision.result.reason);
      return { delayMs: 0, exit: { code: 1, reason: decision.result.reason } };
    }
    const ok = decision.result.action ? await this.perform(decision.result.action) : true;
    const before = this.memory.fsm.state;
    const settled = settleDecision(decision, ok);
    this.memory = settled.memory;
    const after = settled.memory.fsm.state;
    // after an action the VM state changed: ask again; else the collection's answer holds
    await this.engine.reconcile(
      decision.result.action === null ? vmActiveHere : undefined,
      this.config.state.vmConf,
    );
    await this.publish(collection, decision.ctx);
    const fields = {
      state: after,
      score: settled.score.score,
      best_remote: decision.ctx.bestScoreHost,
      reason: settled.outcome.reason,
    };
    if (before !== after) {
      this.d.onStatus?.(`${after} (score ${settled.score.score})`);
      this.log.info({ ...fields, from: before }, `state ${before} -> ${after}`);
      await this.notifyTransition(`${before}-${after}`);
    } else {
      this.log.debug(fields, `current state ${after} (score: ${settled.score.score})`);
    }
    const elapsedMs = (this.clock() - t0) * 1000;
    return { delayMs: settled.outcome.nowait ? 0 : Math.max(0, loopDelayMs - elapsedMs) };
  }

  /** Performs a state machine action; true when it succeeded. */
  private async perform(action: Action): Promise<boolean> {
    const log = this.log.child({ action, state: this.memory.fsm.state });
    try {
      switch (action) {
        case "start-vm":
          return await this.startVm(log);
        case "shutdown-vm":
          await this.engine.shutdown();
          log.info("engine VM shutdown requested");
          return true;
        case "poweroff-vm":
          await this.engine.powerOff();
          log.info("engine VM powered off");
          return true;
      }
    } catch (e) {
      log.error({ err: e as Error }, "engine VM action failed");
      return false;
    }
  }

  private async startVm(log: Logger): Promise<boolean> {
    const vmConf = this.config.state.vmConf;
    if (!vmConf) {
      log.error("cannot start the engine VM: no valid vm.conf yet");
      return false;
    }
    const r = await this.engine.start(vmConf);
    if (r.started) {
      log.info(
        { lease: r.lease, resource: `${r.guard.lockspace}:${r.guard.resource}` },
        "engine VM started",
      );
      return true;
    }
    if (r.locked) log.warn({ err: r.err }, r.reason);
    else log.error({ err: r.err }, r.reason);
    return false;
  }

  private async publish(collection: Collection, ctx: FsmContext): Promise<void> {
    const cfg = this.config.state;
    let block: Buffer;
    try {
      block = encodeHostBlock(
        hostBlockInput({
          hostId: this.hostId,
          hostname: this.hostname,
          collection,
          data: this.memory.fsm,
          ctx,
          confOnSharedStorage: cfg.confOnSharedStorage,
          vmConfRefreshTime: cfg.refreshTime,
          timeEpoch: Math.trunc(this.env.wallSeconds() - this.clock()),
        }),
      );
    } catch (e) {
      this.log.error({ err: e as Error }, "cannot encode this host's block");
      return;
    }
    try {
      // This host first, then the live remote ones, as the original's brokerlink does:
      // `he-ha status` shows a host as up to date only when it is in this list.
      const alive = [this.hostId, ...ctx.alive.filter((id) => id !== this.hostId)];
      // put_stats, then push_hosts_state, in one request
      await this.link.call("publish", (b) => b.publish(this.hostId, block, alive));
    } catch (e) {
      this.log.error({ err: e as Error }, "cannot publish this host's block");
    }
  }

  /** Waits (bounded) until the broker has written our AgentStopped block to storage. */
  private async waitStoppedWritten(): Promise<boolean> {
    const deadline = this.clock() + Math.max(5, 2 * this.timing.broker_storage_cycle);
    while (this.clock() < deadline) {
      try {
        const stats = await this.link.call("get_stats", (b) => b.getStats());
        const seg = stats.get(this.hostId);
        const block = seg
          ? decodeSegments(new Map([[this.hostId, seg]])).hosts.get(this.hostId)
          : undefined;
        if (block?.stopped) return true;
      } catch {
        return false;
      }
      await this.env.sleep(200);
    }
    return false;
  }

  private async notifyTransition(detail: string): Promise<void> {
    try {
      await this.link.call("notify", (b) =>
        b.notify("state_transition", detail, { hostname: this.hostname }),
      );
    } catch (e) {
      this.log.warn(
        { err: e as Error, detail },
        "could not send the state_transition notification",
      );
    }
  }

  /**
   * On exit: publish AgentStopped (score 0, stopped), leave the lockspace (sanlock keeps
   * it while the running VM's lease is held), keep the VM and its lease (orphan).
   */
  async stop(): Promise<void> {
    if (this.lastCollection && this.lastCtx && this.lockspaces.held) {
      this.memory = {
        ...this.memory,
        fsm: { ...this.memory.fsm, state: "AgentStopped", timeoutStart: null },
      };
      const score = stateScore(this.memory.fsm, this.lastCtx).score;
      await this.publish(this.lastCollection, this.lastCtx);
      const written = await this.waitStoppedWritten();
      this.log.info({ state: "AgentStopped", score, written }, "published AgentStopped");
    }
    await this.lockspaces.leave();
    await this.engine.close();
    this.link.close();
  }
}

/**
 * The lockspaces the agent holds: `hosted-engine` on the HA lockspace volume (a host
 * writes its whiteboard segment only while it holds its id there) and the storage
 * domain's own, `<sdUUID>` on its `ids` volume (`<domain>/dom_md/ids`, or the `ids` LV
 * `/dev/<sdUUID>/ids` of a block domain), where oVirt's leases live, the
 * engine VM's among them (VDSM joins it on oVirt hosts: then it is shared).
 */
export function agentLockspaces(
  hostConf: HostConfig,
  volumes: { lockspace: string; ids: string },
): LockspaceSpec[] {
  const common = { hostId: hostConf.hostId, offset: 0, ioTimeout: hostConf.sanlockIoTimeout };
  const out: LockspaceSpec[] = [{ name: HE_LOCKSPACE, path: volumes.lockspace, ...common }];
  if (hostConf.sdUUID) out.push({ name: hostConf.sdUUID, path: volumes.ids, ...common });
  return out;
}
