import type { Timing } from "../../common/timing.js";
import { effectiveRetryCount } from "../../score/score.js";
import { STATE_SPECS, type StateName } from "./states.js";
import type { FsmData } from "./types.js";

/** The start-failure penalty's timer: failed starts are forgotten when it runs out. */
export const START_FAILURE_TIMER = "start-failure-penalty";

/** One running timer of the state machine: what it waits for and the seconds left. */
export interface FsmTimer {
  /** the state whose timer it is, or START_FAILURE_TIMER */
  name: string;
  waits_for: string;
  /** seconds left at `now`, never below 0 */
  seconds_left: number;
  /** the agent.conf [timing] key of its length */
  key: keyof Timing;
}

/** What each timed state waits for before its timeout sends it on (STATE_SPECS). */
const WAITS_FOR: Partial<Record<StateName, { text: string; key: keyof Timing }>> = {
  EngineStarting: {
    text: "the engine to report good health, else stop it",
    key: "engine_starting_timeout",
  },
  EngineUpBadHealth: {
    text: "the engine's health to turn good, else stop it here",
    key: "engine_bad_health_timeout",
  },
  EngineStop: {
    text: "the engine VM to shut down, else power it off",
    key: "engine_stop_timeout",
  },
  EngineMaybeAway: {
    text: "the engine VM to show up on another host, else EngineUnexpectedlyDown",
    key: "engine_away_timeout",
  },
  EngineUnexpectedlyDown: {
    text: "the unexpected-shutdown penalty (score 0) to expire",
    key: "vm_unexpected_shutdown_expiration",
  },
};

/** What a published timer (by name) waits for and its agent.conf key; null for a name we do not know. */
export function describeTimer(name: string): { waits_for: string; key: keyof Timing } | null {
  if (name === START_FAILURE_TIMER) {
    return {
      waits_for: "failed start attempts to be forgotten (the engine-retry penalty ends)",
      key: "engine_retry_expiration",
    };
  }
  const what = WAITS_FOR[name as StateName];
  return what ? { waits_for: what.text, key: what.key } : null;
}

/**
 * The timers running in `data` at monotonic `now` (pure; the same STATE_SPECS the step
 * function checks): the current state's timeout and the expiry of the start-failure
 * penalty while failed starts count.
 */
export function runningTimers(data: FsmData, timing: Timing, now: number): FsmTimer[] {
  const out: FsmTimer[] = [];
  const spec = STATE_SPECS[data.state].timeout;
  const what = WAITS_FOR[data.state];
  if (spec && what && data.timeoutStart !== null) {
    out.push({
      name: data.state,
      waits_for: what.text,
      seconds_left: Math.max(0, data.timeoutStart + spec.seconds(timing) - now),
      key: what.key,
    });
  }
  const retries = effectiveRetryCount(
    data.retryCount,
    data.retryTime,
    now,
    timing.engine_retry_expiration,
  );
  if (retries > 0 && data.retryTime !== null) {
    out.push({
      name: START_FAILURE_TIMER,
      waits_for: describeTimer(START_FAILURE_TIMER)!.waits_for,
      seconds_left: Math.max(0, data.retryTime + timing.engine_retry_expiration - now),
      key: "engine_retry_expiration",
    });
  }
  return out;
}
