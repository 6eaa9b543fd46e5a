import type { ObservedDuration } from "../broker/state/observed-durations.js";
import type { AgentConf } from "../common/agent-conf.js";
import type { ExplainDoc } from "../explain/explain.js";
import type { Scenario } from "../simulator/scenario.js";
import type { TimelineEntry } from "../simulator/timeline.js";

/**
 * `he-ha simulate --from-live`: the live cluster as a simulator scenario (pure). The
 * live facts become the scenario's input: the whiteboard segments as its `state`, one
 * simulated host per live host id up to the highest alive one, each host's monitor
 * values from the penalties it published, maintenance flags, and this host's agent.conf
 * and io_timeout. The simulator (src/simulator) is used as it is.
 */

export type WhatIf =
  | { kind: "kill" | "gateway-down"; host: number }
  /** host null: every host (the shared storage itself is lost); restored after restoreAfter s, null: never */
  | { kind: "storage-loss"; host: number | null; restoreAfter: number | null }
  | { kind: "maintenance"; mode: "local" | "global"; host: number };

export interface LiveSeed {
  explain: ExplainDoc;
  conf: AgentConf;
  ioTimeout: number;
  /** the whiteboard as this broker's get_stats answers it */
  segments: Map<number, Buffer>;
}

/**
 * One duration the prediction runs on, where its value comes from, and whether it is an
 * assumption (nothing on the live cluster gave it).
 */
export interface PredictionInput {
  /** the simulator's cluster.conf key (`timing.loop_delay`, `io_timeout`, `engine_boot`, …) */
  key: string;
  seconds: number;
  source: string;
  assumed: boolean;
}

/** The simulator's own engine durations, used only when the live cluster has not shown one. */
export const ASSUMED_ENGINE_BOOT_SECONDS = 60;
export const ASSUMED_GUEST_SHUTDOWN_SECONDS = 30;

/** The [timing] keys whose values bound a failover, a stop or a start; listed in the output. */
const TIMING_SHOWN = [
  "loop_delay",
  "host_alive_timeout",
  "broker_storage_cycle",
  "engine_starting_timeout",
  "engine_stop_timeout",
  "engine_retry_expiration",
] as const;

const wholeLoops = (seconds: number, loop: number) =>
  loop > 0 ? Math.round(seconds / loop) * loop : seconds;

function observedSource(what: string, d: ObservedDuration): string {
  return `observed: host ${d.host_id} ${what} took ${d.seconds} s (${d.ended_ago} s ago, seen on the whiteboard by this broker)`;
}

/** Observed EngineStart(ing) → EngineUp as the simulator's engine_boot (pure). */
function engineBoot(d: ObservedDuration, loop: number): number {
  // timed from EngineStart: one loop (the start itself) more than from EngineStarting
  const seconds = d.from === "EngineStart" ? d.seconds - loop : d.seconds;
  return Math.max(0, wholeLoops(seconds, loop));
}

/**
 * Every duration the simulated cluster runs on (pure). From this host's configuration:
 * agent.conf [timing] (the loop, the timeouts) and hosted-engine.conf's sanlock
 * io_timeout (the delta-lease renewal, 2 × io_timeout, and the host-dead time, 8 ×
 * io_timeout + 60 s, of src/sanlock/timeouts.ts). From what this broker last saw the
 * engine do: its start → good health time (the simulated engine answers its health page
 * after that, rounded to whole loops: the simulated agent adds the detection the observed
 * time already holds) and its stop (less the one loop the simulated agent takes to ask
 * for it). Where nothing was seen, the simulator's own figure, marked assumed.
 */
export function predictionInputs(seed: LiveSeed): PredictionInput[] {
  const t = seed.conf.timing;
  const loop = t.loop_delay;
  const out: PredictionInput[] = TIMING_SHOWN.map((k) => ({
    key: `timing.${k}`,
    seconds: t[k],
    source: `agent.conf [timing] ${k} (this host)`,
    assumed: false,
  }));
  out.push({
    key: "io_timeout",
    seconds: seed.ioTimeout,
    source:
      "hosted-engine.conf sanlock_io_timeout (the lockspace's io_timeout: lease renewal every 2 ×, a silent host's leases free after 8 × + 60 s)",
    assumed: false,
  });
  const o = seed.explain.observed_durations;
  const boot = o?.engine_start_to_up ?? null;
  out.push(
    boot
      ? {
          key: "engine_boot",
          seconds: engineBoot(boot, loop),
          source: observedSource(`${boot.from ?? "EngineStarting"} → EngineUp`, boot),
          assumed: false,
        }
      : {
          key: "engine_boot",
          seconds: ASSUMED_ENGINE_BOOT_SECONDS,
          source:
            "ASSUMED: the simulator's engine start → good health time (no engine start seen by this broker since it started)",
          assumed: true,
        },
  );
  const stop = o?.engine_stop ?? null;
  out.push(
    stop
      ? {
          key: "guest_shutdown",
          seconds: Math.max(0, wholeLoops(stop.seconds, loop) - loop),
          source: observedSource("EngineStop", stop),
          assumed: false,
        }
      : {
          key: "guest_shutdown",
          seconds: ASSUMED_GUEST_SHUTDOWN_SECONDS,
          source:
            "ASSUMED: the simulator's guest shutdown time (no engine stop seen by this broker since it started)",
          assumed: true,
        },
  );
  return out;
}

/** cluster.conf of the live cluster: hosts, io_timeout, score and timing, engine durations, monitors. */
export function liveClusterConfig(seed: LiveSeed, duration: number): Map<string, string> {
  const alive = seed.explain.hosts.filter((h) => h.alive).map((h) => h.host_id);
  const conf = new Map<string, string>([
    ["hosts", String(Math.max(1, ...alive))],
    ["duration", String(Math.ceil(duration))],
  ]);
  for (const [k, v] of Object.entries(seed.conf.score)) conf.set(`score.${k}`, String(v));
  for (const [k, v] of Object.entries(seed.conf.timing)) conf.set(`timing.${k}`, String(v));
  for (const i of predictionInputs(seed)) conf.set(i.key, String(i.seconds));
  if (seed.explain.global_maintenance) conf.set("global_maintenance", "true");
  for (const h of seed.explain.hosts) {
    if (!alive.includes(h.host_id)) continue;
    for (const p of h.penalties) {
      if (p.name === "network" && typeof p.value === "number")
        conf.set(`host${h.host_id}.network`, String(p.value));
      if (p.name === "mgmt-bridge") conf.set(`host${h.host_id}.bridge`, "down");
      if (p.name === "cpu-load" && typeof p.value === "number")
        conf.set(`host${h.host_id}.cpu`, String(p.value));
      if (p.name === "free-memory" && typeof p.value === "number")
        conf.set(`host${h.host_id}.memory`, String(p.value));
      if (p.name === "local-maintenance") conf.set(`host${h.host_id}.local_maintenance`, "true");
    }
  }
  return conf;
}

/** The what-if in words, as the prediction names it. */
export function whatIfLabel(w: WhatIf): string {
  if (w.kind === "storage-loss") {
    const who = w.host === null ? "every host" : `host${w.host}`;
    const back = w.restoreAfter === null ? "" : `, restored after ${w.restoreAfter} s`;
    return `storage lost on ${who}${back}`;
  }
  return whatIfCommands(w, 0, 1)
    .map((c) => c.words.join(" "))
    .join("; ");
}

/** The scenario commands of a what-if at `at`, in a cluster of `hosts` hosts. */
export function whatIfCommands(
  w: WhatIf,
  at: number,
  hosts: number,
): Array<{ t: number; words: string[] }> {
  switch (w.kind) {
    case "kill":
      return [{ t: at, words: ["kill", `host${w.host}`] }];
    case "gateway-down":
      return [{ t: at, words: ["set", `host${w.host}`, "network", "0"] }];
    case "maintenance":
      return [
        {
          t: at,
          words:
            w.mode === "global"
              ? ["global-maintenance", "on"]
              : ["local-maintenance", `host${w.host}`, "on"],
        },
      ];
    case "storage-loss": {
      const ids = w.host === null ? Array.from({ length: hosts }, (_, i) => i + 1) : [w.host];
      const out = ids.map((id) => ({ t: at, words: ["cut-storage", `host${id}`] }));
      if (w.restoreAfter !== null)
        for (const id of ids)
          out.push({ t: at + w.restoreAfter, words: ["restore-storage", `host${id}`] });
      return out;
    }
  }
}

/**
 * The live engine host boots first, alone, so that the simulated engine runs where the
 * live one does; the others boot at `othersAt` (null: not within this run). Without a
 * live engine host every host boots at 0.
 */
export interface BootPlan {
  first: number;
  othersAt: number | null;
}

/** The live engine host to boot first, if it is alive (pure). */
export function engineFirst(seed: LiveSeed): number | null {
  const id = seed.explain.verdict.engine_host_id;
  return id !== null && seed.explain.hosts.some((h) => h.host_id === id && h.alive) ? id : null;
}

/**
 * Seconds the hosts booted after the engine's need before the event: to join the
 * lockspace (the simulator's sanlock model), read host_alive_timeout of history, and
 * settle into their state, with a few loops to spare.
 */
export function othersSettleSeconds(seed: LiveSeed): number {
  const t = seed.conf.timing;
  return 4 * seed.ioTimeout + t.host_alive_timeout + 5 * t.loop_delay;
}

/** How far after a sanlock renewal instant the event is placed (virtual seconds). */
export const AFTER_RENEWAL = 0.001;

/**
 * The event's time, moved to just after the victim's next delta-lease renewal at or after
 * `at` (the simulator's sanlock renews every 2 × io_timeout from the host's boot). A real
 * kill falls at a random point of the renewal interval, and the others read the victim's
 * renewals on their own renewals, up to one interval late: on average the two cancel, and
 * the leases free host-dead seconds after the kill, which is what a kill just after a
 * renewal gives in the simulator (whose others see each renewal at once). Events that do
 * not stop a host's renewals keep `at`. Returns the renewal instant (the reference of the
 * predicted times) and the event time.
 */
export function eventTime(
  seed: LiveSeed,
  w: WhatIf,
  at: number,
  bootOf: (hostId: number) => number,
): { reference: number; event: number } {
  if (w.kind !== "kill" && w.kind !== "storage-loss") return { reference: at, event: at };
  const period = 2 * seed.ioTimeout;
  // every host's storage lost: what bounds the engine is its own host's renewals
  const boot = bootOf(w.host ?? engineFirst(seed) ?? 1);
  const reference = boot + Math.ceil((at - boot) / period) * period;
  return { reference, event: reference + AFTER_RENEWAL };
}

/** The scenario: the live seed, and the what-if at `eventAt` (none: a settling run). */
export function liveScenario(
  seed: LiveSeed,
  duration: number,
  what: { w: WhatIf; at: number } | null,
  boot: BootPlan | null = null,
): Scenario {
  const config = liveClusterConfig(seed, duration);
  const commands: Scenario["commands"] = [];
  if (boot) {
    config.set("boot", `host${boot.first}`);
    const hosts = Number(config.get("hosts"));
    if (boot.othersAt !== null)
      for (let id = 1; id <= hosts; id++)
        if (id !== boot.first)
          commands.push({ t: boot.othersAt, words: ["boot", `host${id}`], line: 1 });
  }
  if (what)
    for (const c of whatIfCommands(what.w, what.at, Number(config.get("hosts"))))
      commands.push({ ...c, line: commands.length + 1 });
  return {
    name: "from-live",
    dir: ".",
    description: "the live cluster, seeded from this host's broker",
    config,
    commands,
    expect: null,
    state: seed.segments,
  };
}

const STARTED = "start-vm: engine VM started";
const UP = /-> EngineUp\b/;

/** Where and when the engine came up with good health last before `before`. */
export function engineUpBefore(
  entries: readonly TimelineEntry[],
  before: number,
): { host: string; at: number } | null {
  let found: { host: string; at: number } | null = null;
  for (const e of entries) {
    if (e.t > before) break;
    if (e.who && UP.test(e.text)) found = { host: e.who, at: e.t };
  }
  return found;
}

export interface Prediction {
  event: string;
  event_at: number;
  /** the host running the engine when the event happened (in the simulation) */
  engine_host: string | null;
  /** when its engine VM stopped (killed, shut down, or the host lost) */
  engine_down_at: number | null;
  started_on: string | null;
  started_at: number | null;
  up_at: number | null;
  /** from the event to the engine up with good health on a host; null: not within the run */
  engine_up_seconds: number | null;
}

/** The predicted timeline after the event, read from the simulated run's entries. */
export function predict(entries: readonly TimelineEntry[], w: WhatIf, eventAt: number): Prediction {
  const before = engineUpBefore(entries, eventAt - 1e-9);
  const after = entries.filter((e) => e.t >= eventAt);
  const engineHost = before?.host ?? null;
  const down = after.find(
    (e) =>
      e.who === engineHost &&
      (/^vm: (stopped|destroyed|shut down|killed)|powered off|agent: killed|host: powered off/.test(
        e.text,
      ) ||
        /EngineUp -> (EngineStop|EngineForceStop|EngineDown|EngineMaybeAway|LocalMaintenance)/.test(
          e.text,
        )),
  );
  const started = after.find((e) => e.who && e.text === STARTED);
  const up = started
    ? after.find((e) => e.who === started.who && e.t >= started.t && UP.test(e.text))
    : undefined;
  return {
    event: whatIfLabel(w),
    event_at: eventAt,
    engine_host: engineHost,
    engine_down_at: down?.t ?? null,
    started_on: started?.who ?? null,
    started_at: started?.t ?? null,
    up_at: up?.t ?? null,
    engine_up_seconds: up ? up.t - eventAt : null,
  };
}
