import type { StateName } from "../../common/state-names.js";
import type { Timing } from "../../common/timing.js";

export { STATE_NAMES, type StateName } from "../../common/state-names.js";

export type GuardKind = "global-maintenance" | "local-vm-unknown" | "local-maintenance";

/** A guard and where it leads; `to: null` means "stay in this state". */
export interface GuardSpec {
  guard: GuardKind;
  to: StateName | null;
}

export interface TimeoutSpec {
  seconds: (timing: Timing) => number;
  to: StateName;
  nowait: boolean;
}

export interface StateSpec {
  /** checked before everything else; the timer starts on the first step in the state */
  timeout?: TimeoutSpec;
  /** checked in this order after the timeout */
  guards: readonly GuardSpec[];
  /** the `timeout` key is published in the block's extra lines while the timer runs */
  publishTimeout: boolean;
}

const GLOBAL: GuardSpec = { guard: "global-maintenance", to: "GlobalMaintenance" };
const UNKNOWN: GuardSpec = { guard: "local-vm-unknown", to: "UnknownLocalVmState" };
const LOCAL: GuardSpec = { guard: "local-maintenance", to: "LocalMaintenance" };

/**
 * The guards and timers of each state, in the order the original agent's decorators
 * apply them (state_decorators.py on states.py); EngineUp(BadHealth) has no local
 * maintenance guard. One deliberate difference: EngineStop and EngineForceStop do not
 * leave for LocalMaintenance before the VM is down (the original did, and relied on the
 * engine migrating itself off the host first), and LocalMaintenance stops an engine VM
 * still running here. So `he-ha maintenance --mode local` on the engine's host stops the
 * engine there and another host starts it, as an administrator expects.
 */
export const STATE_SPECS: Readonly<Record<StateName, StateSpec>> = {
  ReinitializeFSM: { guards: [GLOBAL, UNKNOWN, LOCAL], publishTimeout: false },
  EngineDown: { guards: [GLOBAL, UNKNOWN, LOCAL], publishTimeout: false },
  EngineStart: { guards: [GLOBAL, UNKNOWN, LOCAL], publishTimeout: false },
  EngineStarting: {
    timeout: { seconds: (t) => t.engine_starting_timeout, to: "EngineStop", nowait: false },
    guards: [GLOBAL, UNKNOWN, LOCAL],
    publishTimeout: false,
  },
  EngineUp: { guards: [GLOBAL, UNKNOWN], publishTimeout: false },
  EngineUpBadHealth: {
    timeout: { seconds: (t) => t.engine_bad_health_timeout, to: "EngineStop", nowait: false },
    guards: [GLOBAL, UNKNOWN],
    publishTimeout: true,
  },
  EngineStop: {
    timeout: { seconds: (t) => t.engine_stop_timeout, to: "EngineForceStop", nowait: false },
    guards: [GLOBAL, UNKNOWN],
    publishTimeout: true,
  },
  EngineForceStop: { guards: [GLOBAL, UNKNOWN], publishTimeout: false },
  EngineMaybeAway: {
    timeout: { seconds: (t) => t.engine_away_timeout, to: "EngineUnexpectedlyDown", nowait: true },
    guards: [GLOBAL, UNKNOWN, LOCAL],
    publishTimeout: false,
  },
  EngineUnexpectedlyDown: {
    timeout: {
      seconds: (t) => t.vm_unexpected_shutdown_expiration,
      to: "EngineDown",
      nowait: false,
    },
    guards: [GLOBAL, UNKNOWN, LOCAL],
    publishTimeout: true,
  },
  GlobalMaintenance: {
    guards: [{ guard: "global-maintenance", to: null }, LOCAL],
    publishTimeout: false,
  },
  LocalMaintenance: { guards: [], publishTimeout: false },
  UnknownLocalVmState: {
    guards: [GLOBAL, { guard: "local-vm-unknown", to: null }, LOCAL],
    publishTimeout: false,
  },
  AgentStopped: { guards: [], publishTimeout: false },
};
