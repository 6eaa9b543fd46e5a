import type { StateName } from "../../common/state-names.js";

/**
 * How long the engine's own phases took on this cluster, as this broker saw them on the
 * whiteboard (its own clock, never a writer's): the last time any host went from
 * EngineStarting to EngineUp (the engine VM started → up with good health), and the last
 * time a host left EngineStop (a shutdown requested → the VM gone). `he-ha simulate
 * --from-live` seeds its simulated engine with them. Good to one storage cycle plus one
 * agent loop (a state is seen when the writer's next block is read).
 */

/** The states these durations are read from. */
const START: StateName = "EngineStart";
const STARTING: StateName = "EngineStarting";
const UP: StateName = "EngineUp";
const STOP: StateName = "EngineStop";

export interface ObservedDuration {
  seconds: number;
  /** the state it was timed from (EngineStart when this broker missed EngineStarting) */
  from: string;
  host_id: number;
  /** seconds before now when the phase ended */
  ended_ago: number;
}

export interface ObservedDurationsDoc {
  /** EngineStarting seen → EngineUp seen, last time it happened; null: not seen since this broker started */
  engine_start_to_up: ObservedDuration | null;
  /** EngineStop seen → the next state seen, last time; null: not seen since this broker started */
  engine_stop: ObservedDuration | null;
}

interface Seen {
  state: string;
  since: number;
  /** the state was first seen at our first read: its start is unknown */
  sinceUnknown: boolean;
}

interface Phase {
  seconds: number;
  from: string;
  hostId: number;
  endedAt: number;
}

export class ObservedDurations {
  private readonly seen = new Map<number, Seen>();
  private first = true;
  private startToUp: Phase | null = null;
  private stop: Phase | null = null;

  /** One whiteboard read: host id → its published state ("" when none). */
  observe(states: ReadonlyMap<number, string>, now: number): void {
    for (const [id, state] of states) {
      const prev = this.seen.get(id);
      if (prev === undefined) {
        this.seen.set(id, { state, since: now, sinceUnknown: this.first });
        continue;
      }
      if (prev.state === state) continue;
      if (!prev.sinceUnknown) {
        const seconds = now - prev.since;
        // a block written for one loop only (EngineStarting of a fast engine) can be
        // overwritten before this broker reads it: then it is timed from EngineStart
        if ((prev.state === STARTING || prev.state === START) && state === UP)
          this.startToUp = { seconds, from: prev.state, hostId: id, endedAt: now };
        if (prev.state === STOP) this.stop = { seconds, from: STOP, hostId: id, endedAt: now };
      }
      this.seen.set(id, { state, since: now, sinceUnknown: false });
    }
    for (const id of this.seen.keys()) if (!states.has(id)) this.seen.delete(id);
    this.first = false;
  }

  doc(now: number): ObservedDurationsDoc {
    const out = (d: Phase | null) =>
      d === null
        ? null
        : {
            seconds: Math.round(d.seconds * 10) / 10,
            from: d.from,
            host_id: d.hostId,
            ended_ago: Math.round((now - d.endedAt) * 10) / 10,
          };
    return { engine_start_to_up: out(this.startToUp), engine_stop: out(this.stop) };
  }
}
