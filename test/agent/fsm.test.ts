import { describe, expect, it } from "vitest";
import { stateMetadata } from "../../src/agent/fsm/metadata.js";
import { STATE_NAMES, type StateName } from "../../src/agent/fsm/states.js";
import { initialFsmData, settle, step } from "../../src/agent/fsm/step.js";
import type { Action, FsmData } from "../../src/agent/fsm/types.js";
import { DEFAULT_TIMING } from "../../src/common/timing.js";
import {
  DOWN,
  DOWN_MISSING,
  DOWN_UNEXPECTED,
  NOW,
  PAUSED,
  UNKNOWN,
  UP_BAD,
  UP_GOOD,
  type WorldOptions,
  world,
} from "./world.js";

interface Row {
  name: string;
  state: StateName;
  /** seconds the state timer has been running (undefined: not started) */
  timerAge?: number;
  retryCount?: number;
  world: WorldOptions;
  to: StateName;
  nowait?: boolean;
  action?: Action;
  /** with an action: where a failure leads */
  failTo?: StateName;
  failNowait?: boolean;
}

function data(row: Row): FsmData {
  return {
    state: row.state,
    timeoutStart: row.timerAge === undefined ? null : NOW - row.timerAge,
    retryCount: row.retryCount ?? 0,
    retryTime: row.retryCount ? NOW - 30 : null,
  };
}

const remoteUp = { id: 2, score: 3400, engine: UP_GOOD };
const remoteDown = { id: 2, score: 3400, engine: DOWN };

/** every row of the §6 table */
const transitions: Row[] = [
  // ReinitializeFSM
  {
    name: "VM up locally → EngineStarting (NOWAIT)",
    state: "ReinitializeFSM",
    world: { local: { engine: UP_GOOD } },
    to: "EngineStarting",
    nowait: true,
  },
  { name: "VM down → EngineDown", state: "ReinitializeFSM", world: {}, to: "EngineDown" },
  // EngineDown
  {
    name: "best engine up here → EngineStarting (NOWAIT)",
    state: "EngineDown",
    world: { local: { engine: UP_BAD }, remotes: [remoteDown] },
    to: "EngineStarting",
    nowait: true,
  },
  {
    name: "engine up elsewhere → stay",
    state: "EngineDown",
    world: { remotes: [remoteUp] },
    to: "EngineDown",
  },
  {
    name: "not enough history → stay",
    state: "EngineDown",
    world: { fresh: true },
    to: "EngineDown",
  },
  {
    name: "local score best → EngineStart (NOWAIT)",
    state: "EngineDown",
    world: { remotes: [{ id: 2, score: 3000, engine: DOWN }] },
    to: "EngineStart",
    nowait: true,
  },
  {
    name: "local score equal to best remote → EngineStart",
    state: "EngineDown",
    world: { remotes: [remoteDown] },
    to: "EngineStart",
    nowait: true,
  },
  {
    name: "no remote host → EngineStart",
    state: "EngineDown",
    world: {},
    to: "EngineStart",
    nowait: true,
  },
  {
    name: "remote score better → stay",
    state: "EngineDown",
    world: { local: { bridge: false }, remotes: [remoteDown] },
    to: "EngineDown",
  },
  {
    name: "a dead remote with a better score is ignored → EngineStart",
    state: "EngineDown",
    world: { local: { bridge: false }, remotes: [{ ...remoteDown, dead: true }] },
    to: "EngineStart",
    nowait: true,
  },
  {
    name: "a dead remote with the engine up is ignored → EngineStart",
    state: "EngineDown",
    world: { remotes: [{ ...remoteUp, dead: true }] },
    to: "EngineStart",
    nowait: true,
  },
  // EngineStart
  {
    name: "start the VM: success → EngineStarting, failure → EngineDown",
    state: "EngineStart",
    world: {},
    to: "EngineStarting",
    action: "start-vm",
    failTo: "EngineDown",
  },
  // EngineStarting
  {
    name: "VM up + health good → EngineUp",
    state: "EngineStarting",
    world: { local: { engine: UP_GOOD } },
    to: "EngineUp",
  },
  {
    name: "VM up, health bad → stay",
    state: "EngineStarting",
    world: { local: { engine: UP_BAD } },
    to: "EngineStarting",
  },
  {
    name: "VM down → EngineForceStop (NOWAIT)",
    state: "EngineStarting",
    world: { local: { engine: DOWN } },
    to: "EngineForceStop",
    nowait: true,
  },
  {
    name: "VM down_unexpected → EngineMaybeAway (NOWAIT)",
    state: "EngineStarting",
    world: { local: { engine: DOWN_UNEXPECTED } },
    to: "EngineMaybeAway",
    nowait: true,
  },
  {
    name: "VM down_missing → EngineMaybeAway (NOWAIT)",
    state: "EngineStarting",
    world: { local: { engine: DOWN_MISSING } },
    to: "EngineMaybeAway",
    nowait: true,
  },
  {
    name: "timeout 600 s → EngineStop",
    state: "EngineStarting",
    timerAge: 601,
    world: { local: { engine: UP_BAD } },
    to: "EngineStop",
  },
  {
    name: "600 s exactly is not yet a timeout",
    state: "EngineStarting",
    timerAge: 600,
    world: { local: { engine: UP_BAD } },
    to: "EngineStarting",
  },
  // EngineUp
  {
    name: "local VM down → EngineMaybeAway",
    state: "EngineUp",
    world: { local: { engine: DOWN } },
    to: "EngineMaybeAway",
  },
  {
    name: "down_unexpected → EngineUnexpectedlyDown",
    state: "EngineUp",
    world: { local: { engine: DOWN_UNEXPECTED } },
    to: "EngineUnexpectedlyDown",
  },
  {
    name: "best engine not up → EngineMaybeAway (NOWAIT)",
    state: "EngineUp",
    world: { local: { engine: DOWN_MISSING } },
    to: "EngineMaybeAway",
    nowait: true,
  },
  {
    name: "best engine on another host → EngineStop",
    state: "EngineUp",
    world: { local: { engine: UP_BAD }, remotes: [remoteUp] },
    to: "EngineStop",
  },
  {
    name: "remote score ≥ local + 800 → EngineStop",
    state: "EngineUp",
    world: { local: { engine: UP_GOOD, bridge: false, network: 0.875 }, remotes: [remoteDown] },
    to: "EngineStop",
  },
  {
    name: "local maintenance set while the engine runs here: score 0, a healthy remote ≥ 800 → EngineStop",
    state: "EngineUp",
    world: {
      local: { engine: UP_GOOD, localMaintenance: true },
      remotes: [{ id: 2, score: 3400, engine: DOWN }],
    },
    to: "EngineStop",
  },
  {
    name: "local maintenance set while the engine runs here, no remote host able to take it → stay",
    state: "EngineUp",
    world: {
      local: { engine: UP_GOOD, localMaintenance: true },
      remotes: [{ id: 2, score: 0, engine: DOWN }],
    },
    to: "EngineUp",
  },
  {
    name: "remote score local + 799 → stay",
    state: "EngineUp",
    world: { local: { engine: UP_GOOD }, remotes: [{ id: 2, score: 4199, engine: DOWN }] },
    to: "EngineUp",
  },
  {
    name: "health bad → EngineUpBadHealth",
    state: "EngineUp",
    world: { local: { engine: UP_BAD } },
    to: "EngineUpBadHealth",
  },
  {
    name: "up and healthy → stay",
    state: "EngineUp",
    world: { local: { engine: UP_GOOD } },
    to: "EngineUp",
  },
  // EngineUpBadHealth
  {
    name: "as EngineUp: health good → EngineUp",
    state: "EngineUpBadHealth",
    timerAge: 10,
    world: { local: { engine: UP_GOOD } },
    to: "EngineUp",
  },
  {
    name: "as EngineUp: still bad → stay",
    state: "EngineUpBadHealth",
    timerAge: 10,
    world: { local: { engine: UP_BAD } },
    to: "EngineUpBadHealth",
  },
  {
    name: "as EngineUp: local VM down → EngineMaybeAway",
    state: "EngineUpBadHealth",
    world: { local: { engine: DOWN } },
    to: "EngineMaybeAway",
  },
  {
    name: "as EngineUp: engine on another host → EngineStop",
    state: "EngineUpBadHealth",
    world: { local: { engine: UP_BAD }, remotes: [remoteUp] },
    to: "EngineStop",
  },
  {
    name: "timeout 300 s → EngineStop",
    state: "EngineUpBadHealth",
    timerAge: 301,
    world: { local: { engine: UP_BAD } },
    to: "EngineStop",
  },
  // EngineStop
  {
    name: "timeout 300 s → EngineForceStop",
    state: "EngineStop",
    timerAge: 301,
    world: { local: { engine: UP_GOOD } },
    to: "EngineForceStop",
  },
  {
    name: "VM not up → EngineDown",
    state: "EngineStop",
    timerAge: 10,
    world: { local: { engine: DOWN } },
    to: "EngineDown",
  },
  {
    name: "Paused → EngineForceStop (NOWAIT)",
    state: "EngineStop",
    world: { local: { engine: PAUSED } },
    to: "EngineForceStop",
    nowait: true,
  },
  {
    name: "first step: graceful shutdown; failure → ReinitializeFSM",
    state: "EngineStop",
    world: { local: { engine: UP_GOOD } },
    to: "EngineStop",
    action: "shutdown-vm",
    failTo: "ReinitializeFSM",
  },
  {
    name: "then wait",
    state: "EngineStop",
    timerAge: 10,
    world: { local: { engine: UP_GOOD } },
    to: "EngineStop",
  },
  // EngineForceStop
  {
    name: "power off: success → EngineDown, failure → ReinitializeFSM",
    state: "EngineForceStop",
    world: { local: { engine: UP_GOOD } },
    to: "EngineDown",
    action: "poweroff-vm",
    failTo: "ReinitializeFSM",
  },
  // EngineMaybeAway
  {
    name: "timeout 40 s → EngineUnexpectedlyDown (NOWAIT)",
    state: "EngineMaybeAway",
    timerAge: 41,
    world: { local: { engine: DOWN_MISSING } },
    to: "EngineUnexpectedlyDown",
    nowait: true,
  },
  {
    name: "local down → EngineDown",
    state: "EngineMaybeAway",
    world: { local: { engine: DOWN } },
    to: "EngineDown",
  },
  {
    name: "down_unexpected → EngineUnexpectedlyDown",
    state: "EngineMaybeAway",
    world: { local: { engine: DOWN_UNEXPECTED } },
    to: "EngineUnexpectedlyDown",
  },
  {
    name: "up → EngineUp",
    state: "EngineMaybeAway",
    world: { local: { engine: UP_BAD } },
    to: "EngineUp",
  },
  {
    name: "up elsewhere → EngineDown",
    state: "EngineMaybeAway",
    world: { local: { engine: DOWN_MISSING }, remotes: [remoteUp] },
    to: "EngineDown",
  },
  {
    name: "nothing known yet → stay",
    state: "EngineMaybeAway",
    timerAge: 10,
    world: { local: { engine: DOWN_MISSING } },
    to: "EngineMaybeAway",
  },
  // EngineUnexpectedlyDown
  {
    name: "timeout 560 s → EngineDown",
    state: "EngineUnexpectedlyDown",
    timerAge: 561,
    world: { local: { engine: DOWN_UNEXPECTED } },
    to: "EngineDown",
  },
  {
    name: "engine up here → EngineUp",
    state: "EngineUnexpectedlyDown",
    timerAge: 10,
    world: { local: { engine: UP_GOOD } },
    to: "EngineUp",
  },
  {
    name: "engine up elsewhere → stay",
    state: "EngineUnexpectedlyDown",
    timerAge: 10,
    world: { local: { engine: DOWN }, remotes: [remoteUp] },
    to: "EngineUnexpectedlyDown",
  },
  {
    name: "engine down everywhere → stay",
    state: "EngineUnexpectedlyDown",
    timerAge: 10,
    world: { local: { engine: DOWN_UNEXPECTED } },
    to: "EngineUnexpectedlyDown",
  },
  // GlobalMaintenance
  {
    name: "flag set → stay, VM untouched",
    state: "GlobalMaintenance",
    world: { global: true, local: { engine: UP_BAD } },
    to: "GlobalMaintenance",
  },
  {
    name: "flag set wins over local maintenance",
    state: "GlobalMaintenance",
    world: { global: true, local: { localMaintenance: true } },
    to: "GlobalMaintenance",
  },
  {
    name: "flag cleared → ReinitializeFSM",
    state: "GlobalMaintenance",
    world: {},
    to: "ReinitializeFSM",
  },
  {
    name: "flag cleared, local maintenance → LocalMaintenance",
    state: "GlobalMaintenance",
    world: { local: { localMaintenance: true } },
    to: "LocalMaintenance",
  },
  // LocalMaintenance
  {
    name: "set → stay",
    state: "LocalMaintenance",
    world: { local: { localMaintenance: true } },
    to: "LocalMaintenance",
  },
  {
    name: "set → stay, even in global maintenance",
    state: "LocalMaintenance",
    world: { global: true, local: { localMaintenance: true } },
    to: "LocalMaintenance",
  },
  {
    name: "set while the engine VM still runs here → EngineStop (the engine must leave)",
    state: "LocalMaintenance",
    world: { local: { engine: UP_GOOD, localMaintenance: true } },
    to: "EngineStop",
  },
  {
    name: "EngineStop keeps stopping the engine VM under local maintenance",
    state: "EngineStop",
    world: { local: { engine: DOWN, localMaintenance: true } },
    to: "EngineDown",
  },
  {
    name: "EngineDown under local maintenance once the VM is down → LocalMaintenance",
    state: "EngineDown",
    world: { local: { engine: DOWN, localMaintenance: true } },
    to: "LocalMaintenance",
  },
  {
    name: "cleared → ReinitializeFSM",
    state: "LocalMaintenance",
    world: {},
    to: "ReinitializeFSM",
  },
  // UnknownLocalVmState
  {
    name: "still unknown → wait",
    state: "UnknownLocalVmState",
    world: { local: { engine: UNKNOWN } },
    to: "UnknownLocalVmState",
  },
  {
    name: "known again → ReinitializeFSM (NOWAIT)",
    state: "UnknownLocalVmState",
    world: { local: { engine: DOWN } },
    to: "ReinitializeFSM",
    nowait: true,
  },
  {
    name: "global maintenance → GlobalMaintenance",
    state: "UnknownLocalVmState",
    world: { global: true, local: { engine: UNKNOWN } },
    to: "GlobalMaintenance",
  },
  {
    name: "known, local maintenance → LocalMaintenance",
    state: "UnknownLocalVmState",
    world: { local: { engine: DOWN, localMaintenance: true } },
    to: "LocalMaintenance",
  },
  {
    name: "monitor without a value counts as unknown",
    state: "UnknownLocalVmState",
    world: { local: { engine: null } },
    to: "UnknownLocalVmState",
  },
  // AgentStopped
  {
    name: "terminal",
    state: "AgentStopped",
    world: { local: { engine: UP_GOOD } },
    to: "AgentStopped",
  },
];

type GuardCase = { g: "global" | "unknown" | "local"; to: StateName };
/** the guards each state uses, in the original's decorator order */
const GUARDS: Partial<Record<StateName, GuardCase[]>> = {
  ReinitializeFSM: [
    { g: "global", to: "GlobalMaintenance" },
    { g: "unknown", to: "UnknownLocalVmState" },
    { g: "local", to: "LocalMaintenance" },
  ],
  EngineDown: [
    { g: "global", to: "GlobalMaintenance" },
    { g: "unknown", to: "UnknownLocalVmState" },
    { g: "local", to: "LocalMaintenance" },
  ],
  EngineStart: [
    { g: "global", to: "GlobalMaintenance" },
    { g: "unknown", to: "UnknownLocalVmState" },
    { g: "local", to: "LocalMaintenance" },
  ],
  EngineStarting: [
    { g: "global", to: "GlobalMaintenance" },
    { g: "unknown", to: "UnknownLocalVmState" },
    { g: "local", to: "LocalMaintenance" },
  ],
  EngineUp: [
    { g: "global", to: "GlobalMaintenance" },
    { g: "unknown", to: "UnknownLocalVmState" },
  ],
  EngineUpBadHealth: [
    { g: "global", to: "GlobalMaintenance" },
    { g: "unknown", to: "UnknownLocalVmState" },
  ],
  // no local-maintenance guard: stopping is what local maintenance wants (see states.ts)
  EngineStop: [
    { g: "global", to: "GlobalMaintenance" },
    { g: "unknown", to: "UnknownLocalVmState" },
  ],
  EngineForceStop: [
    { g: "global", to: "GlobalMaintenance" },
    { g: "unknown", to: "UnknownLocalVmState" },
  ],
  EngineMaybeAway: [
    { g: "global", to: "GlobalMaintenance" },
    { g: "unknown", to: "UnknownLocalVmState" },
    { g: "local", to: "LocalMaintenance" },
  ],
  EngineUnexpectedlyDown: [
    { g: "global", to: "GlobalMaintenance" },
    { g: "unknown", to: "UnknownLocalVmState" },
    { g: "local", to: "LocalMaintenance" },
  ],
};

function guardWorld(g: GuardCase["g"][]): WorldOptions {
  return {
    global: g.includes("global"),
    local: {
      engine: g.includes("unknown") ? UNKNOWN : UP_GOOD,
      localMaintenance: g.includes("local"),
    },
  };
}

describe("agent state machine (behaviour.md §6)", () => {
  describe.each(transitions)("$state: $name", (row) => {
    it(`→ ${row.to}`, () => {
      const r = step(data(row), world(row.world));
      expect(r.exit).toBe(false);
      expect(r.next.state).toBe(row.to);
      expect(r.nowait).toBe(row.nowait ?? false);
      expect(r.action).toBe(row.action ?? null);
      if (row.failTo) {
        const failed = settle(r, false);
        expect(failed.next.state).toBe(row.failTo);
        expect(failed.nowait).toBe(row.failNowait ?? false);
      }
    });
  });

  describe("guards, in each state's order", () => {
    for (const [state, guards] of Object.entries(GUARDS) as [StateName, GuardCase[]][]) {
      guards.forEach((guard, i) => {
        it(`${state}: ${guard.g} → ${guard.to}`, () => {
          const r = step({ ...initialFsmData(), state }, world(guardWorld([guard.g])));
          expect(r.next.state).toBe(guard.to);
          expect(r.action).toBeNull();
          expect(r.nowait).toBe(false);
        });
        // every later guard also holding: the earlier one wins
        const later = guards.slice(i + 1).map((x) => x.g);
        if (later.length > 0) {
          it(`${state}: ${guard.g} wins over ${later.join(", ")}`, () => {
            const r = step({ ...initialFsmData(), state }, world(guardWorld([guard.g, ...later])));
            expect(r.next.state).toBe(guard.to);
          });
        }
      });
    }

    it("EngineUp has no local maintenance guard: the VM keeps running", () => {
      const r = step(
        { ...initialFsmData(), state: "EngineUp" },
        world({ local: { engine: UP_GOOD, localMaintenance: true } }),
      );
      expect(r.next.state).toBe("EngineUp");
    });

    it("the state timeout is checked before every guard", () => {
      const r = step(
        { ...initialFsmData(), state: "EngineStarting", timeoutStart: NOW - 601 },
        world({ global: true, local: { engine: UNKNOWN, localMaintenance: true } }),
      );
      expect(r.next.state).toBe("EngineStop");
    });

    it("every state is covered by the tables", () => {
      const covered = new Set(transitions.map((r) => r.state));
      for (const s of STATE_NAMES) expect(covered.has(s), s).toBe(true);
    });
  });

  describe("metadata too new", () => {
    it.each(STATE_NAMES)("%s → exit", (state) => {
      const r = step(
        { ...initialFsmData(), state },
        world({ tooNew: true, local: { engine: UP_GOOD } }),
      );
      expect(r.exit).toBe(true);
      expect(r.action).toBeNull();
    });
  });

  describe("timers", () => {
    it("start on the first step staying in a timed state", () => {
      const r = step(
        { ...initialFsmData(), state: "EngineStarting" },
        world({ local: { engine: UP_BAD } }),
      );
      expect(r.next.timeoutStart).toBe(NOW);
    });

    it("keep running while the state stays", () => {
      const r = step(
        { ...initialFsmData(), state: "EngineStarting", timeoutStart: NOW - 100 },
        world({ local: { engine: UP_BAD } }),
      );
      expect(r.next.timeoutStart).toBe(NOW - 100);
    });

    it("are cleared on leaving, by logic or by a guard or by the timeout", () => {
      const timed = {
        ...initialFsmData(),
        state: "EngineStarting" as const,
        timeoutStart: NOW - 100,
      };
      expect(step(timed, world({ local: { engine: UP_GOOD } })).next.timeoutStart).toBeNull();
      expect(step(timed, world({ global: true })).next.timeoutStart).toBeNull();
      expect(
        step({ ...timed, timeoutStart: NOW - 700 }, world({ local: { engine: UP_BAD } })).next
          .timeoutStart,
      ).toBeNull();
    });

    it("never run in untimed states", () => {
      const r = step(
        { ...initialFsmData(), state: "EngineUp" },
        world({ local: { engine: UP_GOOD } }),
      );
      expect(r.next.timeoutStart).toBeNull();
    });

    it("EngineStop: the shutdown is requested once, then the timer runs", () => {
      const first = step(
        { ...initialFsmData(), state: "EngineStop" },
        world({ local: { engine: UP_GOOD } }),
      );
      expect(first.action).toBe("shutdown-vm");
      const ok = settle(first, true);
      expect(ok.next).toMatchObject({ state: "EngineStop", timeoutStart: NOW });
      const later = step(ok.next, world({ now: NOW + 10, local: { engine: UP_GOOD } }));
      expect(later.action).toBeNull();
      expect(later.next.state).toBe("EngineStop");
      const failed = settle(first, false);
      expect(failed.next).toMatchObject({ state: "ReinitializeFSM", timeoutStart: null });
    });

    it("scale with the configured timing", () => {
      const r = step(
        { ...initialFsmData(), state: "EngineMaybeAway", timeoutStart: NOW - 5 },
        world({ local: { engine: DOWN_MISSING }, timing: { engine_away_timeout: 4 } }),
      );
      expect(r.next.state).toBe("EngineUnexpectedlyDown");
      expect(r.nowait).toBe(true);
    });

    it("publish the timeout of EngineStop, EngineUpBadHealth and EngineUnexpectedlyDown", () => {
      const md = (state: StateName) =>
        stateMetadata({ ...initialFsmData(), state, timeoutStart: 100 }, DEFAULT_TIMING).timeoutAt;
      expect(md("EngineStop")).toBe(100 + DEFAULT_TIMING.engine_stop_timeout);
      expect(md("EngineUpBadHealth")).toBe(100 + DEFAULT_TIMING.engine_bad_health_timeout);
      expect(md("EngineUnexpectedlyDown")).toBe(
        100 + DEFAULT_TIMING.vm_unexpected_shutdown_expiration,
      );
      expect(md("EngineStarting")).toBeNull();
    });
  });

  describe("retry counting and expiry", () => {
    it("a failed start counts and stamps the attempt; a success resets the count", () => {
      const r = step(
        { ...initialFsmData(), state: "EngineStart", retryCount: 2, retryTime: NOW - 20 },
        world(),
      );
      expect(r.next).toMatchObject({ state: "EngineStarting", retryCount: 0, retryTime: NOW });
      expect(settle(r, false).next).toMatchObject({
        state: "EngineDown",
        retryCount: 3,
        retryTime: NOW,
      });
    });

    it("retry status is cleared 600 s after the last attempt", () => {
      const d: FsmData = {
        ...initialFsmData(),
        state: "EngineDown",
        retryCount: 4,
        retryTime: NOW - 600,
      };
      const r = step(d, world({ remotes: [remoteDown] }));
      expect(r.next).toMatchObject({ retryCount: 0, retryTime: null, state: "EngineStart" });
    });

    it("more than 3 failed attempts: score 0, another host goes first", () => {
      const d: FsmData = {
        ...initialFsmData(),
        state: "EngineDown",
        retryCount: 4,
        retryTime: NOW - 599,
      };
      const r = step(d, world({ remotes: [{ id: 2, score: 100, engine: DOWN }] }));
      expect(r.next).toMatchObject({ retryCount: 4, state: "EngineDown" });
    });

    it("3 failed attempts: only 150 points off", () => {
      const d: FsmData = {
        ...initialFsmData(),
        state: "EngineDown",
        retryCount: 3,
        retryTime: NOW - 100,
      };
      expect(step(d, world({ remotes: [{ id: 2, score: 3250, engine: DOWN }] })).next.state).toBe(
        "EngineStart",
      );
      expect(step(d, world({ remotes: [{ id: 2, score: 3251, engine: DOWN }] })).next.state).toBe(
        "EngineDown",
      );
    });
  });

  it("a whole start: EngineDown → EngineStart → EngineStarting → EngineUp", () => {
    let d = initialFsmData();
    const seen: StateName[] = [];
    const worlds: WorldOptions[] = [
      {},
      {},
      {},
      { local: { engine: UP_BAD } },
      { local: { engine: UP_GOOD } },
    ];
    worlds.forEach((w, i) => {
      const r = step(d, world({ ...w, now: NOW + i * 10 }));
      d = settle(r, true).next;
      seen.push(d.state);
    });
    expect(seen).toEqual([
      "EngineDown",
      "EngineStart",
      "EngineStarting",
      "EngineStarting",
      "EngineUp",
    ]);
  });
});
