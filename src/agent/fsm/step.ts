import { effectiveRetryCount } from "../../score/score.js";
import type { EngineStatus } from "../../storage/whiteboard/types.js";
import { UNKNOWN_ENGINE } from "../engine-rank.js";
import { historySpans } from "../history.js";
import { stateScore } from "./score.js";
import { type GuardKind, STATE_SPECS, type StateName } from "./states.js";
import type { Action, FsmContext, FsmData, Outcome, StepResult } from "./types.js";

/** The machine's data on start: ReinitializeFSM, no timer, no retries. */
export function initialFsmData(): FsmData {
  return { state: "ReinitializeFSM", timeoutStart: null, retryCount: 0, retryTime: null };
}

/** A transition before timer handling: where to, with which data and flags. */
interface Move {
  to: StateName;
  data: FsmData;
  nowait: boolean;
  reason: string;
}

interface ActionMove {
  action: Action;
  success: Move;
  failure: Move;
}

function move(to: StateName, data: FsmData, reason: string, nowait = false): Move {
  return { to, data, nowait, reason };
}

function guardHolds(guard: GuardKind, ctx: FsmContext): boolean {
  const local = ctx.history[0]!;
  switch (guard) {
    case "global-maintenance":
      return local.globalMaintenance;
    case "local-vm-unknown":
      return (local.local.engine ?? UNKNOWN_ENGINE).vm === "unknown";
    case "local-maintenance":
      return local.local.localMaintenance;
  }
}

const GUARD_REASON: Record<GuardKind, string> = {
  "global-maintenance": "global maintenance",
  "local-vm-unknown": "local engine VM status unknown",
  "local-maintenance": "local maintenance",
};

function localEngine(ctx: FsmContext): EngineStatus {
  return ctx.history[0]!.local.engine ?? UNKNOWN_ENGINE;
}

function localScore(data: FsmData, ctx: FsmContext): number {
  return stateScore(data, ctx).score;
}

/** EngineUp and EngineUpBadHealth share this logic (behaviour.md §6). */
function engineUpLogic(data: FsmData, ctx: FsmContext): Move {
  const local = localEngine(ctx);
  if (local.vm === "down") return move("EngineMaybeAway", data, "engine VM down here");
  if (local.vm === "down_unexpected") {
    return move("EngineUnexpectedlyDown", data, "engine VM unexpectedly down");
  }
  if (ctx.bestEngine.status.vm !== "up") {
    return move("EngineMaybeAway", data, "engine VM may be running on another host", true);
  }
  if (ctx.bestEngine.hostId !== ctx.hostId) {
    return move("EngineStop", data, `engine VM also running on host ${ctx.bestEngine.hostId}`);
  }
  const best = ctx.bestScoreHost;
  if (best && best.hostId !== ctx.hostId) {
    const mine = localScore(data, ctx);
    if (best.score >= mine + ctx.timing.engine_restart_score_threshold) {
      return move(
        "EngineStop",
        data,
        `host ${best.hostname} (id ${best.hostId}) score ${best.score} is much better than ${mine}`,
      );
    }
  }
  if (local.health === "bad") return move("EngineUpBadHealth", data, "engine health bad");
  return move("EngineUp", data, "engine VM running here");
}

function stateLogic(data: FsmData, ctx: FsmContext): Move | ActionMove {
  const local = localEngine(ctx);
  const now = ctx.history[0]!.collectFinish;
  switch (data.state) {
    case "ReinitializeFSM":
      return local.vm === "up"
        ? move("EngineStarting", data, "engine VM up here", true)
        : move("EngineDown", data, "engine VM not up here");
    case "EngineDown": {
      if (ctx.bestEngine.status.vm === "up") {
        return ctx.bestEngine.hostId === ctx.hostId
          ? move("EngineStarting", data, "engine VM unexpectedly running here", true)
          : move("EngineDown", data, `engine VM running on host ${ctx.bestEngine.hostId}`);
      }
      if (!historySpans(ctx.history, ctx.timing.host_alive_timeout)) {
        return move("EngineDown", data, "not enough history to tell which hosts are alive");
      }
      const mine = localScore(data, ctx);
      const best = ctx.bestScoreHost;
      if (best === null || best.score <= mine) {
        return move("EngineStart", data, `engine down and local score ${mine} is best`, true);
      }
      return move("EngineDown", data, `host ${best.hostId} has a better score (${best.score})`);
    }
    case "EngineStart":
      return {
        action: "start-vm",
        success: move(
          "EngineStarting",
          { ...data, retryTime: now, retryCount: 0 },
          "engine VM started",
        ),
        failure: move(
          "EngineDown",
          { ...data, retryTime: now, retryCount: data.retryCount + 1 },
          "engine VM start failed",
        ),
      };
    case "EngineStarting":
      if (local.vm === "up") {
        return local.health === "good"
          ? move("EngineUp", data, "engine up and healthy")
          : move("EngineStarting", data, "engine VM powering up");
      }
      if (local.vm === "down") {
        return move("EngineForceStop", data, "another host already took over", true);
      }
      return move("EngineMaybeAway", data, "engine VM unexpectedly down", true);
    case "EngineUp":
    case "EngineUpBadHealth":
      return engineUpLogic(data, ctx);
    case "EngineStop":
      if (local.vm !== "up") return move("EngineDown", data, "engine VM not running here");
      if (local.detail === "Paused") {
        return move("EngineForceStop", data, "engine VM paused, forcing stop", true);
      }
      if (data.timeoutStart === null) {
        return {
          action: "shutdown-vm",
          success: move("EngineStop", data, "engine VM shutdown requested"),
          failure: move("ReinitializeFSM", data, "engine VM shutdown failed"),
        };
      }
      return move("EngineStop", data, "waiting for the engine VM shutdown");
    case "EngineForceStop":
      return {
        action: "poweroff-vm",
        success: move("EngineDown", data, "engine VM powered off"),
        failure: move("ReinitializeFSM", data, "engine VM power off failed"),
      };
    case "EngineMaybeAway":
      if (local.vm === "down") return move("EngineDown", data, "engine VM running elsewhere");
      if (local.vm === "down_unexpected") {
        return move("EngineUnexpectedlyDown", data, "engine VM unexpectedly down");
      }
      if (local.vm === "up") return move("EngineUp", data, "engine VM running here");
      if (ctx.bestEngine.status.vm === "up") {
        return move("EngineDown", data, `engine VM running on host ${ctx.bestEngine.hostId}`);
      }
      return move("EngineMaybeAway", data, "waiting for the engine VM to appear");
    case "EngineUnexpectedlyDown":
      if (ctx.bestEngine.status.vm === "up" && ctx.bestEngine.hostId === ctx.hostId) {
        return move("EngineUp", data, "engine VM unexpectedly running here");
      }
      return move("EngineUnexpectedlyDown", data, "engine VM unexpectedly down, score 0");
    case "GlobalMaintenance":
      return move("ReinitializeFSM", data, "global maintenance cleared");
    case "LocalMaintenance":
      if (!ctx.history[0]!.local.localMaintenance) {
        return move("ReinitializeFSM", data, "local maintenance cleared");
      }
      if (local.vm === "up") {
        return move("EngineStop", data, "local maintenance: the engine VM must leave this host");
      }
      return move("LocalMaintenance", data, "local maintenance");
    case "UnknownLocalVmState":
      return move("ReinitializeFSM", data, "local engine VM status known again", true);
    case "AgentStopped":
      return move("AgentStopped", data, "agent stopped");
  }
}

/** Applies the state timer rule: cleared on leaving, started on the first step staying. */
function finish(from: FsmData, m: Move, now: number): Outcome {
  const timed = STATE_SPECS[from.state].timeout !== undefined;
  let timeoutStart: number | null = null;
  if (m.to === from.state && timed) timeoutStart = m.data.timeoutStart ?? now;
  return {
    next: { ...m.data, state: m.to, timeoutStart },
    nowait: m.nowait,
    exit: false,
    reason: m.reason,
  };
}

/**
 * One decision of the state machine (behaviour.md §6), pure: the daemon collects, builds
 * the context, calls step, performs the returned action (if any), resolves the outcome
 * with settle() and publishes `next`.
 *
 * Order: retry expiry, metadata too new (exit), state timeout, guards in the state's
 * order, then the state's own logic.
 */
export function step(data: FsmData, ctx: FsmContext): StepResult {
  const current = ctx.history[0];
  if (!current) throw new RangeError("step: the context holds no collection");
  const now = current.collectFinish;
  const retryCount = effectiveRetryCount(
    data.retryCount,
    data.retryTime,
    now,
    ctx.timing.engine_retry_expiration,
  );
  const d: FsmData =
    retryCount === data.retryCount ? data : { ...data, retryCount: 0, retryTime: null };
  const final = (o: Outcome): StepResult => ({ ...o, action: null, onFailure: null });

  if (current.tooNew) {
    return final({
      next: d,
      nowait: false,
      exit: true,
      reason: "metadata written by a newer agent: stop managing the engine VM",
    });
  }
  const spec = STATE_SPECS[d.state];
  if (spec.timeout && d.timeoutStart !== null) {
    const limit = spec.timeout.seconds(ctx.timing);
    if (d.timeoutStart + limit < now) {
      return final({
        next: { ...d, state: spec.timeout.to, timeoutStart: null },
        nowait: spec.timeout.nowait,
        exit: false,
        reason: `timeout of ${limit} s in ${d.state}`,
      });
    }
  }
  for (const g of spec.guards) {
    if (guardHolds(g.guard, ctx)) {
      return final(finish(d, move(g.to ?? d.state, d, GUARD_REASON[g.guard]), now));
    }
  }
  const decided = stateLogic(d, ctx);
  if ("action" in decided) {
    return {
      ...finish(d, decided.success, now),
      action: decided.action,
      onFailure: finish(d, decided.failure, now),
    };
  }
  return final(finish(d, decided, now));
}

/** The outcome of a step once its action (if any) has been performed. */
export function settle(result: StepResult, actionOk: boolean): Outcome {
  if (result.action === null || actionOk || result.onFailure === null) {
    return { next: result.next, nowait: result.nowait, exit: result.exit, reason: result.reason };
  }
  return result.onFailure;
}
