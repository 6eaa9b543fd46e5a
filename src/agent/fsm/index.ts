export { buildContext, type ContextOptions } from "./context.js";
export { type StateMetadata, stateMetadata } from "./metadata.js";
export { stateScore } from "./score.js";
export { STATE_NAMES, STATE_SPECS, type StateName } from "./states.js";
export { initialFsmData, settle, step } from "./step.js";
export { describeTimer, type FsmTimer, runningTimers, START_FAILURE_TIMER } from "./timers.js";
export type { Action, FsmContext, FsmData, Outcome, StepResult } from "./types.js";
