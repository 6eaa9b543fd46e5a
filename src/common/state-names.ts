/**
 * Every state of the agent's state machine (behaviour.md §6), by the original's class
 * name: the one home of these words. The state machine's rules per state live in
 * src/agent/fsm/states.ts (STATE_SPECS); the score (src/score) and the simulator read
 * the type from here.
 */
export const STATE_NAMES = [
  "ReinitializeFSM",
  "EngineDown",
  "EngineStart",
  "EngineStarting",
  "EngineUp",
  "EngineUpBadHealth",
  "EngineStop",
  "EngineForceStop",
  "EngineMaybeAway",
  "EngineUnexpectedlyDown",
  "GlobalMaintenance",
  "LocalMaintenance",
  "UnknownLocalVmState",
  "AgentStopped",
] as const;

export type StateName = (typeof STATE_NAMES)[number];

export function isStateName(s: string): s is StateName {
  return (STATE_NAMES as readonly string[]).includes(s);
}
