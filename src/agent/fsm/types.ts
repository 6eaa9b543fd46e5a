import type { ScoreConfig } from "../../common/agent-conf.js";
import type { Timing } from "../../common/timing.js";
import type { Collection } from "../history.js";
import type { BestEngine, BestScoreHost } from "../selection.js";
import type { StateName } from "./states.js";

/** The state machine's own memory between steps; plain data. */
export interface FsmData {
  state: StateName;
  /** monotonic seconds when the current state's timer started; null when not running */
  timeoutStart: number | null;
  /** failed engine VM start attempts since the retry status was last cleared */
  retryCount: number;
  /** monotonic seconds of the last start attempt */
  retryTime: number | null;
}

/** Everything one step decides on, precomputed from the collections (see buildContext). */
export interface FsmContext {
  hostId: number;
  /** collections, newest first; history[0] is the current one */
  history: readonly Collection[];
  alive: readonly number[];
  bestEngine: BestEngine;
  bestScoreHost: BestScoreHost | null;
  scoreConfig: ScoreConfig;
  timing: Timing;
  /** hosted-engine.conf comes from shared storage */
  confUpToDate: boolean;
  /** the engine VM's memSize (MB) from vm.conf, null when unknown */
  vmMemSizeMb: number | null;
}

/** Side effects the daemon performs for a step. */
export type Action = "start-vm" | "shutdown-vm" | "poweroff-vm";

export interface Outcome {
  next: FsmData;
  /** run the next step at once */
  nowait: boolean;
  /** stop managing the VM and exit non-zero (metadata too new) */
  exit: boolean;
  /** why, for the log */
  reason: string;
}

/**
 * A step's decision. Without an action it is final. With one, `next`/`nowait` describe
 * the outcome when the action succeeds and `onFailure` when it fails (see settle()).
 */
export interface StepResult extends Outcome {
  action: Action | null;
  onFailure: Outcome | null;
}
