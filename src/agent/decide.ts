import type { ScoreConfig } from "../common/agent-conf.js";
import type { Timing } from "../common/timing.js";
import type { ScoreResult } from "../score/score.js";
import { buildContext } from "./fsm/context.js";
import { stateScore } from "./fsm/score.js";
import { initialFsmData, settle, step } from "./fsm/step.js";
import type { FsmContext, FsmData, Outcome, StepResult } from "./fsm/types.js";
import { appendHistory, type Collection } from "./history.js";

/** What the agent carries from one loop to the next. */
export interface AgentMemory {
  fsm: FsmData;
  /** collections, newest first, at most timing.history_window seconds */
  history: Collection[];
}

export function initialMemory(): AgentMemory {
  return { fsm: initialFsmData(), history: [] };
}

export interface DecideOptions {
  hostId: number;
  scoreConfig: ScoreConfig;
  timing: Timing;
  confUpToDate: boolean;
  vmMemSizeMb: number | null;
}

export interface Decision {
  history: Collection[];
  ctx: FsmContext;
  result: StepResult;
}

/** Adds the collection to the history and lets the state machine decide (pure). */
export function decide(memory: AgentMemory, collection: Collection, opts: DecideOptions): Decision {
  const history = appendHistory(memory.history, collection, opts.timing.history_window);
  const ctx = buildContext(opts.hostId, history, opts);
  return { history, ctx, result: step(memory.fsm, ctx) };
}

export interface Settled {
  memory: AgentMemory;
  outcome: Outcome;
  score: ScoreResult;
}

/** Resolves the decision with its action's result and scores the new state (pure). */
export function settleDecision(d: Decision, actionOk: boolean): Settled {
  const outcome = settle(d.result, actionOk);
  return {
    memory: { fsm: outcome.next, history: d.history },
    outcome,
    score: stateScore(outcome.next, d.ctx),
  };
}
