import { hostname as osHostname } from "node:os";
import { BrokerUnreachableError } from "../broker/client.js";
import type { AgentConf } from "../common/agent-conf.js";
import { type HaConf, readHaConf } from "../common/ha-conf.js";
import type { HostConfig } from "../common/host-config.js";
import type { Logger } from "../common/log.js";
import { type ThrottledLogger, throttledLogger } from "../common/log-throttle.js";
import { monotonicSeconds } from "../common/monotonic.js";
import type { HaPaths } from "../common/paths.js";
import { LeaseHeldError, LockspaceIdConflictError } from "../sanlock/errors.js";
import type { LockspaceSpec } from "../sanlock/lockspace.js";
import { MountNotPermittedError, type StorageConnector } from "../storage/connect/index.js";
import type { VmConf } from "../storage/ovf/vmconf-types.js";
import { encodeHostBlock } from "../storage/whiteboard/host-block-encode.js";
import { decodeSegments } from "../storage/whiteboard/snapshot.js";
import { type BrokerApi, BrokerLink } from "./broker-link.js";
import { collectionFrom } from "./collect.js";
import { ConfigRefresher } from "./config-refresh.js";
import { type AgentMemory, decide, initialMemory, settleDecision } from "./decide.js";
import { stateScore } from "./fsm/score.js";
import type { Action, FsmContext } from "./fsm/types.js";
import type { Collection } from "./history.js";
import type { LockspacePort, VmLeasePort, VmPort } from "./ports.js";
import { hostBlockInput } from "./publish.js";
import {
  clearStartFailure,
  isLeaseRefusedByLibvirt,
  recordStartFailure,
  STORAGE_LOCKED_START_REASON,
} from "./start-failure.js";
import { brokerStorageProblem, StorageGuard } from "./storage-guard.js";
import { withTimeouts } from "./vm-timeouts.js";

export const LOCKSPACE_NAME = "hosted-engine";

export interface AgentDeps {
  hostConf: HostConfig;
  agentConf: AgentConf;
  paths: HaPaths;
  /** the storage domain's HA volumes (src/storage/domain.ts haVolumes) */
  volumes: { domain: string; metadata: string; lockspace: string; conf: string };
  log: Logger;
  broker: BrokerApi;
  lockspace: LockspacePort;
  vmLease: VmLeasePort;
  vm: VmPort;
  /** published in the block; default: the system hostname */
  hostname?: string;
  /** monotonic seconds; default the machine's monotonic clock */
  clock?: () => number;
  /** called once the agent runs, before it waits for anything (systemd readiness) */
  onReady?: () => void;
  /** what the agent does or waits for, in a few words (systemd STATUS=) */
  onStatus?: (text: string) => void;
  /** connects and watches the storage domain (issue 12; src/storage/connect) */
  storage?: StorageConnector;
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

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * ovirt-ha-agent: waits out local maintenance, joins the lockspace, then every
 * loop_delay seconds (at once after a NOWAIT step) refreshes the configuration,
 * collects, lets the pure state machine decide, performs its action and publishes
 * the block. I/O only here; every decision is in ./fsm and ../score.
 */
export class AgentDaemon {
  readonly link: BrokerLink;
  readonly config: ConfigRefresher;
  private readonly d: AgentDeps;
  private readonly log: Logger;
  private readonly tlog: ThrottledLogger;
  private readonly clock: () => number;
  private readonly hostId: number;
  private readonly hostname: string;
  private readonly lockspaceSpec: LockspaceSpec;
  private memory: AgentMemory = initialMemory();
  private lastCollection: Collection | null = null;
  private lastCtx: FsmContext | null = null;
  private lockspaceHeld = false;
  private leaseHeld = false;
  private haConf: HaConf | null = null;
  private readonly storage: StorageGuard | null;
  private storageDown = false;

  constructor(deps: AgentDeps) {
    this.d = { ...deps, vm: withTimeouts(deps.vm, { queryMs: 5000, actionMs: 60_000 }) };
    this.hostId = deps.hostConf.hostId;
    this.log = deps.log.child({ host_id: this.hostId });
    this.tlog = throttledLogger(this.log, { intervalMs: 60_000 });
    this.clock = deps.clock ?? monotonicSeconds;
    this.hostname = deps.hostname ?? osHostname();
    this.link = new BrokerLink(deps.broker, { conf: deps.hostConf, log: this.log });
    this.config = new ConfigRefresher({
      conf: deps.hostConf,
      paths: deps.paths,
      volumes: deps.volumes,
      log: this.log,
      clock: this.clock,
    });
    this.storage = deps.storage
      ? new StorageGuard({
          connector: deps.storage,
          log: this.log,
          clock: this.clock,
          onChange: (why) => void this.storageChanged(why),
          remountAfterSeconds: 8 * deps.hostConf.sanlockIoTimeout,
        })
      : null;
    this.lockspaceSpec = {
      name: LOCKSPACE_NAME,
      hostId: this.hostId,
      path: deps.volumes.lockspace,
      offset: 0,
      ioTimeout: deps.hostConf.sanlockIoTimeout,
    };
  }

  /** the state machine's current state */
  get state(): string {
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
      if (!signal.aborted) await this.joinLockspace(signal);
      if (!signal.aborted) await this.adoptRunningVm();
      while (!signal.aborted) {
        const r = await this.loopOnce();
        if (r.exit) {
          exit = r.exit;
          break;
        }
        await sleep(r.delayMs, signal);
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
      await sleep(this.timing.local_maintenance_poll * 1000, signal);
    }
  }

  /** Connects the storage domain before the lockspace join (issue 12), retrying every loop. */
  private async waitStorage(signal: AbortSignal): Promise<void> {
    while (this.storage && !signal.aborted && !(await this.storage.ensure()))
      await sleep(this.timing.loop_delay * 1000, signal);
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

  /** Joins the lockspace, retrying until it works; another id held by sanlock is fatal. */
  async joinLockspace(signal: AbortSignal): Promise<void> {
    this.d.onStatus?.("joining the sanlock lockspace");
    while (!signal.aborted) {
      if (await this.tryJoinLockspace()) return;
      await sleep(this.timing.loop_delay * 1000, signal);
    }
  }

  private async tryJoinLockspace(): Promise<boolean> {
    try {
      const r = await this.d.lockspace.addLockspace(this.lockspaceSpec);
      this.lockspaceHeld = true;
      this.log.info(
        { lockspace: LOCKSPACE_NAME, path: this.lockspaceSpec.path, result: r },
        "sanlock lockspace joined",
      );
      return true;
    } catch (e) {
      if (e instanceof LockspaceIdConflictError)
        throw new ExitError({ code: 1, reason: e.message });
      this.lockspaceHeld = false;
      this.log.error(
        { err: (e as Error).message },
        "cannot join the sanlock lockspace, will retry",
      );
      return false;
    }
  }

  /** Checks the lockspace every loop and rejoins when it was lost. */
  private async ensureLockspace(): Promise<boolean> {
    try {
      if (await this.d.lockspace.inqLockspace(this.lockspaceSpec)) {
        this.lockspaceHeld = true;
        return true;
      }
      this.log.warn({ lockspace: LOCKSPACE_NAME }, "sanlock lockspace lost: rejoining");
    } catch (e) {
      this.log.error(
        { err: (e as Error).message },
        "cannot inquire the sanlock lockspace: rejoining",
      );
    }
    return this.tryJoinLockspace();
  }

  /** After a restart: a VM still running here keeps its lease (adopted from the orphan). */
  private async adoptRunningVm(): Promise<void> {
    try {
      if (await this.d.vm.isActive()) {
        this.leaseHeld = await this.d.vmLease.adopt();
        if (!this.leaseHeld) this.leaseHeld = (await this.d.vmLease.inquire()) === "held";
        this.log.info({ lease: this.leaseHeld }, "engine VM already running here: left untouched");
      } else {
        const r = await this.d.vmLease.release();
        if (r === "released")
          this.log.info(
            "released the engine VM lease left by a previous agent: VM not running here",
          );
      }
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, "cannot check the engine VM at start-up");
    }
  }

  private async readHa(): Promise<HaConf> {
    try {
      this.haConf = await readHaConf(this.d.paths.haConf);
    } catch (e) {
      this.log.error(
        { file: this.d.paths.haConf, err: (e as Error).message },
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
      const health = (await this.link.call("status", (b) => b.status())).storage;
      this.storage?.brokerSays(brokerStorageProblem(health, null));
      if (health.stale) {
        this.tlog.error(
          "no-decision",
          { err: health.last_read_error },
          "the broker cannot read the shared storage: no decision on stale data",
        );
        return { delayMs: loopDelayMs };
      }
      stats = await this.link.call("get_stats", (b) => b.getStats());
      monitors = await this.link.monitorValues();
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
        { err: (e as Error).message },
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
    const vmActiveHere = await this.d.vm.isActive().catch(() => null);
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
    await this.releaseLeaseIfVmDown(decision.result.action === null ? vmActiveHere : undefined);
    await this.publish(collection, decision.ctx, settled.score.score);
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
          await this.d.vm.shutdown();
          log.info("engine VM shutdown requested");
          return true;
        case "poweroff-vm":
          await this.d.vm.powerOff();
          log.info("engine VM powered off");
          await this.releaseLease(log);
          return true;
      }
    } catch (e) {
      log.error({ err: (e as Error).message }, "engine VM action failed");
      return false;
    }
  }

  private async startVm(log: Logger): Promise<boolean> {
    const vmConf = this.config.state.vmConf;
    if (!vmConf) {
      log.error("cannot start the engine VM: no valid vm.conf yet");
      return false;
    }
    try {
      const r = await this.d.vmLease.acquire();
      this.leaseHeld = true;
      if (r === "left-to-libvirt") log.debug("engine VM lease left to libvirt's lock manager");
      else log.info({ lease: r }, "engine VM lease held");
    } catch (e) {
      const reason =
        e instanceof LeaseHeldError
          ? STORAGE_LOCKED_START_REASON
          : `cannot take the engine VM lease: ${(e as Error).message}`;
      log.warn({ err: (e as Error).message }, reason);
      await recordStartFailure(this.d.paths.runDir, reason).catch((w: Error) =>
        log.error({ err: w.message }, "cannot record the start failure"),
      );
      return false;
    }
    let err = await this.tryStart(vmConf);
    if (
      err &&
      isLeaseRefusedByLibvirt(err.message) &&
      (await this.d.vmLease.lockManagerDetected?.().catch(() => false))
    ) {
      // the agent's own hold was in the way of libvirt's lock manager: again, without
      this.leaseHeld = false;
      err = await this.tryStart(vmConf);
    }
    if (err) {
      const message = err.message;
      if (isLeaseRefusedByLibvirt(message)) {
        // libvirt's lock manager holds leases for qemu: the lease is held elsewhere
        log.warn({ err: message }, STORAGE_LOCKED_START_REASON);
        await recordStartFailure(this.d.paths.runDir, STORAGE_LOCKED_START_REASON).catch(
          (w: Error) => log.error({ err: w.message }, "cannot record the start failure"),
        );
      } else log.error({ err: message }, "engine VM start failed");
      await this.releaseLeaseIfVmDown();
      return false;
    }
    await clearStartFailure(this.d.paths.runDir).catch(() => undefined);
    log.info("engine VM started");
    return true;
  }

  /** Starts the VM; the error when it did not start. */
  private async tryStart(vmConf: VmConf): Promise<Error | null> {
    try {
      await this.d.vm.start(vmConf);
      return null;
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  }

  private async releaseLease(log: Logger): Promise<void> {
    try {
      const r = await this.d.vmLease.release();
      this.leaseHeld = false;
      if (r === "released") log.info("engine VM lease released: VM down here");
    } catch (e) {
      log.error({ err: (e as Error).message }, "cannot release the engine VM lease");
    }
  }

  /** The lease is held exactly while the VM may run here: released once it is down. */
  private async releaseLeaseIfVmDown(known?: boolean | null): Promise<void> {
    const active = known !== undefined ? known : await this.d.vm.isActive().catch(() => null);
    // null: hypervisor unreachable, the VM may still run: keep the lease
    if (active === null) return;
    if (active && !this.leaseHeld) {
      this.leaseHeld = await this.d.vmLease.adopt().catch(() => false);
    } else if (!active && this.leaseHeld) {
      await this.releaseLease(this.log);
    }
  }

  private async publish(collection: Collection, ctx: FsmContext, score: number): Promise<void> {
    const cfg = this.config.state;
    let block: Buffer;
    try {
      block = encodeHostBlock(
        hostBlockInput({
          hostId: this.hostId,
          hostname: this.hostname,
          collection,
          data: this.memory.fsm,
          score,
          timing: this.timing,
          confOnSharedStorage: cfg.confOnSharedStorage,
          vmConfRefreshTime: cfg.refreshTime,
          timeEpoch: Math.trunc(Date.now() / 1000 - this.clock()),
        }),
      );
    } catch (e) {
      this.log.error({ err: (e as Error).message }, "cannot encode this host's block");
      return;
    }
    try {
      await this.link.call("put_stats", (b) => b.putStats(this.hostId, block));
      // This host first, then the live remote ones, as the original's brokerlink does:
      // `he-ha status` shows a host as up to date only when it is in this list.
      const alive = [this.hostId, ...ctx.alive.filter((id) => id !== this.hostId)];
      await this.link.call("push_hosts_state", (b) => b.pushHostsState(alive));
    } catch (e) {
      this.log.error({ err: (e as Error).message }, "cannot publish this host's block");
    }
  }

  /** Waits (bounded) until the broker has written our AgentStopped block to storage. */
  private async waitStoppedWritten(): Promise<boolean> {
    const deadline = Date.now() + Math.max(5000, 2 * this.timing.broker_storage_cycle * 1000);
    while (Date.now() < deadline) {
      try {
        const seg = (await this.d.broker.getStats()).get(this.hostId);
        const block = seg
          ? decodeSegments(new Map([[this.hostId, seg]])).hosts.get(this.hostId)
          : undefined;
        if (block?.stopped) return true;
      } catch {
        return false;
      }
      await new Promise((r) => setTimeout(r, 200));
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
        { err: (e as Error).message, detail },
        "could not send the state_transition notification",
      );
    }
  }

  /**
   * On exit: publish AgentStopped (score 0, stopped), leave the lockspace (sanlock keeps
   * it while the running VM's lease is held), keep the VM and its lease (orphan).
   */
  async stop(): Promise<void> {
    if (this.lastCollection && this.lastCtx && this.lockspaceHeld) {
      this.memory = {
        ...this.memory,
        fsm: { ...this.memory.fsm, state: "AgentStopped", timeoutStart: null },
      };
      const score = stateScore(this.memory.fsm, this.lastCtx).score;
      await this.publish(this.lastCollection, this.lastCtx, score);
      const written = await this.waitStoppedWritten();
      this.log.info({ state: "AgentStopped", score, written }, "published AgentStopped");
    }
    if (this.lockspaceHeld) {
      try {
        const r = await this.d.lockspace.remLockspace(this.lockspaceSpec);
        this.log.info(
          { result: r },
          r === "busy"
            ? "lockspace kept: the engine VM runs here with its lease"
            : "lockspace left",
        );
      } catch (e) {
        this.log.error({ err: (e as Error).message }, "cannot leave the sanlock lockspace");
      }
      this.lockspaceHeld = false;
    }
    this.d.vmLease.close();
    await this.d.vm.close().catch(() => undefined);
    this.d.broker.close();
  }
}
