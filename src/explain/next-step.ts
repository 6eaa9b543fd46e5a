import { collectionFrom } from "../agent/collect.js";
import { buildContext } from "../agent/fsm/context.js";
import { STATE_NAMES, STATE_SPECS, type StateName } from "../agent/fsm/states.js";
import { step } from "../agent/fsm/step.js";
import { START_FAILURE_TIMER } from "../agent/fsm/timers.js";
import type { Action, FsmData } from "../agent/fsm/types.js";
import type { Collection } from "../agent/history.js";
import type { MonitorStrings } from "../agent/monitor-values.js";
import { hostBlockOf } from "../broker/status.js";
import { readFacts } from "../storage/whiteboard/published-facts.js";
import type { HostBlock } from "../storage/whiteboard/types.js";
import type { ExplainInput } from "./input.js";

/** What the local agent will do at its next loop, as the agent's own step function decides. */
export interface NextStep {
  state: string;
  next_state: string;
  action: Action | null;
  reason: string;
  /** the one line `he-ha explain` prints */
  line: string;
}

/** The next loop's time, an arbitrary monotonic origin: only differences matter to the step. */
const NOW = 1_000_000;

const isState = (s: string): s is StateName => (STATE_NAMES as readonly string[]).includes(s);

/**
 * The local agent's machine data as it published it: its state, the state timer and the
 * failed-start count and time, rebuilt from the published timers, as they will stand at
 * its next loop (one loop_delay after the block it published).
 */
function publishedData(input: ExplainInput): FsmData {
  const { status, conf } = input;
  const own = status.hosts.find((h) => h.host_id === status.host_id);
  const state: StateName = own && isState(own.state) ? own.state : "ReinitializeFSM";
  const data: FsmData = { state, timeoutStart: null, retryCount: 0, retryTime: null };
  if (!own) return data;
  const facts = readFacts(own.extra);
  const left = (name: string) => {
    const t = facts.timers?.find((x) => x.name === name);
    return t === undefined ? null : t.seconds_left - conf.timing.loop_delay;
  };
  const spec = STATE_SPECS[state].timeout;
  const stateLeft = left(state);
  if (spec && stateLeft !== null) data.timeoutStart = NOW - (spec.seconds(conf.timing) - stateLeft);
  const retries = facts.penalties?.find(
    (p) => p.name === "engine-retry" || p.name === "start-failures",
  )?.value;
  if (typeof retries === "number" && retries > 0) {
    data.retryCount = retries;
    const retryLeft = left(START_FAILURE_TIMER);
    data.retryTime =
      retryLeft === null ? NOW : NOW - (conf.timing.engine_retry_expiration - retryLeft);
  }
  return data;
}

/**
 * The two collections the step needs: now, and one from before host_alive_timeout in
 * which the hosts this broker sees alive had another timestamp (so the agent's own
 * liveness rule finds exactly them alive).
 */
function history(input: ExplainInput): Collection[] {
  const { status, conf } = input;
  const monitors: MonitorStrings = Object.fromEntries(
    status.local.monitors.map((m) => [m.type, m.value]),
  );
  const collect = (at: number, blocks: Map<number, HostBlock>) =>
    collectionFrom({
      hostId: status.host_id,
      snapshot: {
        global: { maintenance: status.global_maintenance, unknown: {} },
        hosts: blocks,
        errors: [],
        tooNew: status.too_new,
      },
      monitors,
      haConf: { localMaintenance: input.localMaintenance, localMaintenanceManual: false },
      collectStart: at,
      collectFinish: at,
    });
  const now = new Map(status.hosts.map((h) => [h.host_id, hostBlockOf(h)]));
  const before = new Map(
    status.hosts.map((h) => {
      const b = hostBlockOf(h);
      return [h.host_id, h.timestamp_changing ? { ...b, timestamp: b.timestamp - 1 } : b];
    }),
  );
  return [collect(NOW, now), collect(NOW - conf.timing.host_alive_timeout - 1, before)];
}

/** The local agent's next decision, by the same step function the agent runs (pure). */
export function predictNextStep(input: ExplainInput): NextStep {
  const data = publishedData(input);
  if (input.status.local.monitors.length === 0) {
    const reason = "no agent runs here: this broker has no monitor started (the agent starts them)";
    return { state: data.state, next_state: data.state, action: null, reason, line: reason };
  }
  if (input.status.storage.stale) {
    const reason = "the broker's view of the whiteboard is stale: the agent decides nothing";
    return { state: data.state, next_state: data.state, action: null, reason, line: reason };
  }
  const own = input.status.hosts.find((h) => h.host_id === input.status.host_id);
  const ctx = buildContext(input.status.host_id, history(input), {
    scoreConfig: input.conf.score,
    timing: input.conf.timing,
    confUpToDate: own?.conf_on_shared_storage ?? true,
    vmMemSizeMb: input.vmMemSizeMb,
  });
  const r = step(data, ctx);
  const to = r.next.state;
  const move = to === data.state ? `stays in ${to}` : `${data.state} -> ${to}`;
  const act = r.action ? ` (${r.action})` : "";
  return {
    state: data.state,
    next_state: to,
    action: r.action,
    reason: r.reason,
    line: `${move}${act}: ${r.reason}`,
  };
}
