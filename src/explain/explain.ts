import { describeTimer } from "../agent/fsm/timers.js";
import type { ObservedDurationsDoc } from "../broker/state/observed-durations.js";
import type { HostStatus } from "../broker/status.js";
import type { AgentConf } from "../common/agent-conf.js";
import { hostDeadSeconds } from "../sanlock/timeouts.js";
import { PENALTY_KEYS, type PenaltyName } from "../score/score.js";
import { type FactValue, readFacts } from "../storage/whiteboard/published-facts.js";
import type { ExplainInput } from "./input.js";
import { type NextStep, predictNextStep } from "./next-step.js";

/**
 * `he-ha explain`: why each host runs or does not run the engine, from what is published
 * (host blocks and their explanation lines) and what this host's broker observes (block
 * ages by its own clock, its monitors). Pure: the broker route, the metrics and the CLI
 * all render this one document.
 */

export interface ExplainedPenalty {
  name: string;
  points: number;
  value: FactValue;
  threshold: FactValue;
  /** the agent.conf key that sets it; null for a name this version does not know */
  key: string | null;
}

export interface ExplainedTimer {
  name: string;
  waits_for: string;
  seconds_left: number;
}

export interface HostExplanation {
  host_id: number;
  hostname: string;
  state: string;
  score: number;
  /** its block changed within host_alive_timeout by this broker's clock */
  alive: boolean;
  /** seconds since this broker saw its block change; null: not since the broker started */
  updated_age_seconds: number | null;
  engine: string;
  runs_engine: boolean;
  /** one line: why it runs or does not run the engine */
  why: string;
  /** false when the writer published no breakdown (an older or Python agent) */
  breakdown_published: boolean;
  penalties: ExplainedPenalty[];
  timers: ExplainedTimer[];
}

export interface Verdict {
  /** where the engine runs now (null: nowhere) */
  engine_host_id: number | null;
  /** the host that would start it if the engine's host died now (null: none could) */
  failover_host_id: number | null;
  /** seconds from that death to the start on failover_host_id (within one agent loop) */
  failover_after_seconds: number | null;
  summary: string;
}

export interface ExplainDoc {
  host_id: number;
  /** this host's agent.conf base-score, what its penalties are taken from */
  base_score: number;
  global_maintenance: boolean;
  hosts: HostExplanation[];
  next_step: NextStep;
  verdict: Verdict;
  /** the engine's start → good health and its stop, as this broker last saw them on the whiteboard */
  observed_durations: ObservedDurationsDoc;
}

/** timer names that are not FSM states: another host's liveness and its sanlock leases */
export const HOST_ALIVE_TIMER = "host-alive";
export const LEASE_TIMER = "sanlock-lease";

/** States in which a host never starts the engine, whatever its score. */
const NEVER_STARTS: ReadonlySet<string> = new Set([
  "LocalMaintenance",
  "AgentStopped",
  "GlobalMaintenance",
  "EngineUnexpectedlyDown",
]);

function engineText(h: HostStatus): string {
  const e = h.engine_status;
  if (!e) return "unknown";
  return e.vm === "up" ? `up, health ${e.health}` : e.vm;
}

/** Seconds as shown: to a tenth (the inputs are good to a loop at best). */
const tenth = (s: number) => Math.round(s * 10) / 10;

const runsEngine = (h: HostStatus) => h.timestamp_changing && h.engine_status?.vm === "up";

function penaltiesOf(h: HostStatus): { published: boolean; list: ExplainedPenalty[] } {
  const facts = readFacts(h.extra);
  if (facts.penalties === null) return { published: false, list: [] };
  return {
    published: true,
    list: facts.penalties.map((p) => ({
      ...p,
      key: p.name in PENALTY_KEYS ? PENALTY_KEYS[p.name as PenaltyName] : null,
    })),
  };
}

/** A block stopped changing: it missed more than one loop and one storage cycle. */
function isStale(h: HostStatus, conf: AgentConf): boolean {
  const age = h.updated_age_seconds;
  return age !== null && age > conf.timing.loop_delay + conf.timing.broker_storage_cycle;
}

function timersOf(h: HostStatus, input: ExplainInput): ExplainedTimer[] {
  const age = h.updated_age_seconds ?? 0;
  const out: ExplainedTimer[] = [];
  for (const t of readFacts(h.extra).timers ?? []) {
    const d = describeTimer(t.name);
    out.push({
      name: t.name,
      waits_for: d?.waits_for ?? "(a timer this version does not know)",
      seconds_left: tenth(Math.max(0, t.seconds_left - age)),
    });
  }
  if (isStale(h, input.conf) && h.updated_age_seconds !== null) {
    const aliveLeft = input.conf.timing.host_alive_timeout - age;
    if (aliveLeft > 0 && h.host_id !== input.status.host_id) {
      out.push({
        name: HOST_ALIVE_TIMER,
        waits_for: `the other agents to call host ${h.host_id} dead (its block unchanged for host_alive_timeout)`,
        seconds_left: tenth(aliveLeft),
      });
    }
    const leaseLeft = hostDeadSeconds(input.ioTimeout) - age;
    if (leaseLeft > 0) {
      const what =
        h.engine_status?.vm === "up" ? "the engine VM's lease and its host id" : "its host id";
      out.push({
        name: LEASE_TIMER,
        waits_for: `sanlock to free ${what} (8 × io_timeout + 60 s after its last renewal)`,
        seconds_left: tenth(leaseLeft),
      });
    }
  }
  return out;
}

function why(h: HostStatus, doc: { engineHost: HostStatus | null }, input: ExplainInput): string {
  const { status, conf } = input;
  if (runsEngine(h)) {
    return h.engine_status?.health === "good"
      ? "runs the engine, health good"
      : `runs the engine VM, health bad (state ${h.state || "unknown"})`;
  }
  if (h.stopped) return "does not run the engine: its agent is stopped";
  if (!h.timestamp_changing) {
    const age = h.updated_age_seconds;
    return `does not run the engine: not alive (block unchanged ${age === null ? "since this broker started" : `for ${Math.round(age)} s`})`;
  }
  if (h.local_maintenance || h.state === "LocalMaintenance") {
    return "does not run the engine: local maintenance";
  }
  if (status.global_maintenance) {
    return "does not start the engine: global maintenance (no host starts or stops it)";
  }
  if (h.score === 0) {
    const names = penaltiesOf(h).list.map((x) => x.name);
    return `cannot take the engine: score 0 (${names.join(", ") || "no breakdown published"})`;
  }
  const e = doc.engineHost;
  if (e) {
    const threshold = conf.timing.engine_restart_score_threshold;
    const gap = e.score + threshold - h.score;
    return gap > 0
      ? `standby: the engine runs on host ${e.host_id}; it moves here only when this score beats ${e.score} by ${threshold} (${gap} more points)`
      : `standby: its score beats host ${e.host_id}'s by ${threshold} or more, so host ${e.host_id} stops the engine for it`;
  }
  return "engine down: the alive host with the best score starts it at its next loop";
}

/** The host that starts the engine when `exceptId` is gone: best score, lowest id. */
function failoverCandidate(
  hosts: readonly HostStatus[],
  exceptId: number | null,
): HostStatus | null {
  const able = hosts.filter(
    (h) =>
      h.host_id !== exceptId &&
      h.timestamp_changing &&
      !h.stopped &&
      !h.local_maintenance &&
      !NEVER_STARTS.has(h.state),
  );
  able.sort((a, b) => b.score - a.score || a.host_id - b.host_id);
  return able[0] ?? null;
}

function verdict(input: ExplainInput, engineHost: HostStatus | null): Verdict {
  const { status, conf } = input;
  const t = conf.timing;
  const engineHostId = engineHost?.host_id ?? null;
  if (status.global_maintenance) {
    return {
      engine_host_id: engineHostId,
      failover_host_id: null,
      failover_after_seconds: null,
      summary: `${engineHost ? `engine on host ${engineHostId}` : "engine not running"}; global maintenance: no host would start it`,
    };
  }
  const next = failoverCandidate(status.hosts, engineHostId);
  if (!engineHost) {
    return {
      engine_host_id: null,
      failover_host_id: next?.host_id ?? null,
      failover_after_seconds: next ? t.loop_delay : null,
      summary: next
        ? `engine not running; host ${next.host_id} (${next.hostname}, score ${next.score}) should start it at its next loop`
        : "engine not running and no alive host can start it",
    };
  }
  // the others call the engine's host dead host_alive_timeout after its last block, and
  // decide at their next loop; the start succeeds once sanlock frees the VM's lease
  const detection = t.host_alive_timeout + t.loop_delay;
  const lease = hostDeadSeconds(input.ioTimeout);
  const after = Math.max(detection, lease);
  return {
    engine_host_id: engineHostId,
    failover_host_id: next?.host_id ?? null,
    failover_after_seconds: next ? after : null,
    summary: next
      ? `engine on host ${engineHostId} (${engineHost.hostname}); if it died now, host ${next.host_id} (${next.hostname}, score ${next.score}) would start it after about ${after} s (${lease > detection ? `sanlock frees the lease after ${lease} s` : `detected dead after ${detection} s`}, within one ${t.loop_delay} s loop)`
      : `engine on host ${engineHostId} (${engineHost.hostname}); if it died now NO host could start it`,
  };
}

/** The explanation document of the cluster as this host's broker sees it (pure). */
export function explainCluster(input: ExplainInput): ExplainDoc {
  const { status } = input;
  const running = status.hosts.filter(runsEngine);
  running.sort(
    (a, b) =>
      Number(b.engine_status?.health === "good") - Number(a.engine_status?.health === "good") ||
      a.host_id - b.host_id,
  );
  const engineHost = running[0] ?? null;
  const hosts = status.hosts.map((h): HostExplanation => {
    const p = penaltiesOf(h);
    return {
      host_id: h.host_id,
      hostname: h.hostname,
      state: h.state,
      score: h.score,
      alive: h.timestamp_changing,
      updated_age_seconds: h.updated_age_seconds === null ? null : tenth(h.updated_age_seconds),
      engine: engineText(h),
      runs_engine: runsEngine(h),
      why: why(h, { engineHost }, input),
      breakdown_published: p.published,
      penalties: p.list,
      timers: timersOf(h, input),
    };
  });
  return {
    host_id: status.host_id,
    base_score: input.conf.score["base-score"],
    global_maintenance: status.global_maintenance,
    hosts,
    next_step: predictNextStep(input),
    verdict: verdict(input, engineHost),
    observed_durations: input.observed ?? { engine_start_to_up: null, engine_stop: null },
  };
}
