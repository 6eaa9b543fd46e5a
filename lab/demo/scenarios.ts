import type { DemoCluster } from "./cluster.js";
import { predictKill, predictWhatIf, showPrediction } from "./live-insight.js";
import type { ScenarioName } from "./scenario-names.js";
import {
  engineUpHost,
  type LoggedTransition,
  raceNotForced,
  raceProgress,
  restartDisturbedVm,
  storageLossFailure,
} from "./scenario-rules.js";
import {
  coldStartBudget,
  others,
  STARTING_STATES,
  startup,
  waitEngineUp,
  waitStates,
} from "./scenario-steps.js";
import type { Scenario } from "./scenario-types.js";
import { glusterStorageLoss, powerOff } from "./storage-scenarios.js";

/**
 * The demo's scenarios. Each drives a running cluster through one HA story and returns
 * figures; it throws when the cluster does not behave as behaviour.md §3/§6 say. Every
 * scenario runs while the cluster's sampler checks all hypervisors twice a second: the
 * caller fails the run if the engine VM was ever seen on two hosts at once.
 */
export type { Scenario, ScenarioFigures } from "./scenario-types.js";

async function heHaOk(c: DemoCluster, hostId: number, args: string[]): Promise<string> {
  const r = await c.host(hostId).heHa(args);
  if (r.code !== 0)
    throw new Error(
      `he-ha ${args.join(" ")} on host${hostId} failed (${r.code}): ${r.output.trim()}`,
    );
  c.event(`host${hostId}$ he-ha ${args.join(" ")}`);
  return r.output;
}

export const failover: Scenario = async (c, phase) => {
  const cold = await startup(c, phase);
  const victim = c.engineHosts[0]!;
  // asked just before the kill, outside the measured interval (a figure, never asserted)
  phase(`ask the simulator: what if host${victim} dies now?`);
  const predicted = await predictKill(c, victim);
  phase(`kill host${victim}`);
  const t0 = c.elapsed();
  await c.host(victim).kill9();
  c.event(`host${victim} killed hard (SIGKILL: agent, broker, sanlock, libvirtd; VM gone)`);
  let detection = Number.NaN;
  const budget = coldStartBudget(c) + c.profile.hostDeadSeconds;
  phase("waiting for another host to take over");
  await c.waitFor(
    "another host deciding to start the engine",
    async () => {
      const st = await c.states();
      return others(c, victim).some((h) => STARTING_STATES.has(st.get(h)?.state ?? ""));
    },
    budget,
  );
  detection = c.elapsed() - t0;
  c.event(`another host decided to start after ${detection.toFixed(1)}s`);
  const host = await waitEngineUp(c, budget, [victim]);
  const failoverSeconds = c.elapsed() - t0;
  c.event(`engine up on host${host} ${failoverSeconds.toFixed(1)}s after the kill`);
  const check = showPrediction(c, predicted, { hostId: host, seconds: failoverSeconds });
  return {
    ...cold,
    ...(check?.predicted_engine_up_seconds != null
      ? {
          predicted_failover_seconds: check.predicted_engine_up_seconds,
          prediction_error_seconds: check.difference_seconds ?? Number.NaN,
        }
      : {}),
    detection_seconds: detection,
    failover_seconds: failoverSeconds,
    host_dead_seconds: c.profile.hostDeadSeconds,
    failover_over_host_dead: failoverSeconds / c.profile.hostDeadSeconds,
  };
};

export const globalMaintenance: Scenario = async (c, phase) => {
  await startup(c, phase);
  const host = c.engineHosts[0]!;
  phase("global maintenance on");
  await heHaOk(c, host, ["maintenance", "--mode", "global"]);
  const all = c.hosts.map((h) => h.id);
  await waitStates(c, all, ["GlobalMaintenance"], 10 * c.profile.timing.loop_delay + 30);
  phase("engine VM killed: nobody repairs it");
  await c.destroyVm(host);
  const quiet = 6 * c.profile.timing.loop_delay + c.profile.timing.host_alive_timeout;
  const t0 = c.elapsed();
  while (c.elapsed() - t0 < quiet) {
    const running = await c.sampleHypervisors();
    if (running.length > 0)
      throw new Error(`engine VM restarted on host${running[0]} during global maintenance`);
    await new Promise((r) => setTimeout(r, 500));
  }
  c.event(`engine VM stayed down for ${quiet.toFixed(0)}s of global maintenance`);
  phase("global maintenance off: repaired");
  const t1 = c.elapsed();
  await heHaOk(c, host, ["maintenance", "--mode", "none"]);
  await waitEngineUp(c, coldStartBudget(c));
  return { quiet_seconds: quiet, repair_seconds: c.elapsed() - t1 };
};

export const localMaintenance: Scenario = async (c, phase) => {
  await startup(c, phase);
  const host = c.engineHosts[0]!;
  // asked on the engine's host (local maintenance is of the asking host), before the step
  phase(`ask the simulator: what if host${host} goes into local maintenance now?`);
  const predicted = await predictWhatIf(c, [host], ["--maintenance", "local"]);
  phase(`local maintenance on host${host}`);
  const t0 = c.elapsed();
  await heHaOk(c, host, ["maintenance", "--mode", "local"]);
  const moved = await waitEngineUp(c, coldStartBudget(c) + c.profile.timing.engine_stop_timeout, [
    host,
  ]);
  showPrediction(c, predicted, { hostId: moved, seconds: c.elapsed() - t0 });
  const st = (await c.states()).get(host)?.state;
  if (st !== "LocalMaintenance")
    throw new Error(`host${host} publishes ${st}, expected LocalMaintenance`);
  c.event(`engine moved from host${host} to host${moved}`);
  return { migrate_seconds: c.elapsed() - t0 };
};

export const splitBrain: Scenario = async (c, phase) => {
  // A race needs a tie: a start is attempted only by hosts whose score is the best.
  // The penalties that follow the machine's momentary load (cpu load, free memory)
  // would give the simulated hosts, which share one machine, slightly different
  // scores at different moments, so they are switched off here and every host
  // scores the base 3400.
  for (const h of c.hosts) {
    await h.appendAgentConf(
      "# split-brain scenario: equal scores on every host\n[score]\ncpu-load-score-penalty=0\nfree-memory-score-penalty=0\n",
    );
  }
  phase("all hosts held in global maintenance");
  await c.host(1).start();
  // on gluster storage host1's agent mounts the domain first: its broker can set the
  // flag once it has read the whiteboard there
  await c.waitFor(
    "host1's broker to read the storage domain",
    async () => (await c.host(1).heHa(["status", "--json"])).code === 0,
    coldStartBudget(c),
  );
  await heHaOk(c, 1, ["maintenance", "--mode", "global"]);
  await c.startAll();
  const all = c.hosts.map((h) => h.id);
  await waitStates(c, all, ["GlobalMaintenance"], coldStartBudget(c));
  // every agent needs host_alive_timeout of history before it may start the engine
  await new Promise((r) => setTimeout(r, (c.profile.timing.host_alive_timeout + 2) * 1000));
  const logFrom = await agentLogSizes(c);
  phase("flag cleared: every host races to EngineStart");
  await heHaOk(c, 1, ["maintenance", "--mode", "none"]);
  let race = { attempted: [] as number[], settled: false };
  await c.waitFor(
    "the race to settle",
    async () => {
      const running = await c.sampleHypervisors();
      race = raceProgress(
        await loggedTransitions(c, logFrom),
        all,
        Date.now(),
        c.profile.timing.loop_delay * 1000,
      );
      return running.length === 1 && race.settled;
    },
    coldStartBudget(c),
  );
  const host = await waitEngineUp(c, coldStartBudget(c));
  const refused = await refusedStarts(c);
  c.event(
    `hosts that attempted to start: ${race.attempted.join(", ")}; refused by the VM lease: ${refused.join(", ") || "none"}`,
  );
  const notForced = raceNotForced(race.attempted.length, refused.length);
  if (notForced) throw new Error(notForced);
  return { attempted: race.attempted.length, refused_by_lease: refused.length, winner: host };
};

/** The size of every host's agent.log now: where its transitions after this point begin. */
async function agentLogSizes(c: DemoCluster): Promise<Map<number, number>> {
  const { stat } = await import("node:fs/promises");
  const out = new Map<number, number>();
  for (const h of c.hosts)
    out.set(
      h.id,
      await stat(`${h.logDir}/agent.log`).then(
        (s) => s.size,
        () => 0,
      ),
    );
  return out;
}

/** Every host's logged state transitions ("state A -> B") after the offsets `from`. */
async function loggedTransitions(
  c: DemoCluster,
  from: ReadonlyMap<number, number>,
): Promise<Map<number, LoggedTransition[]>> {
  const { readFile } = await import("node:fs/promises");
  const out = new Map<number, LoggedTransition[]>();
  for (const h of c.hosts) {
    const buf = await readFile(`${h.logDir}/agent.log`).catch(() => Buffer.alloc(0));
    const list: LoggedTransition[] = [];
    for (const line of buf
      .subarray(from.get(h.id) ?? 0)
      .toString("utf8")
      .split("\n")) {
      if (!line.includes('"msg":"state ')) continue;
      try {
        const rec = JSON.parse(line) as { state?: unknown; time?: unknown };
        if (typeof rec.state === "string" && typeof rec.time === "string")
          list.push({ state: rec.state, atMs: Date.parse(rec.time) });
      } catch {
        // a line still being written: read again at the next poll
      }
    }
    out.set(h.id, list);
  }
  return out;
}

/** Hosts whose agent logged a start refused by the VM lease. */
async function refusedStarts(c: DemoCluster): Promise<number[]> {
  const { readFile } = await import("node:fs/promises");
  const out: number[] = [];
  for (const h of c.hosts) {
    const text = await readFile(`${h.logDir}/agent.log`, "utf8").catch(() => "");
    if (text.includes("Storage of VM is locked")) out.push(h.id);
  }
  return out;
}

export const agentRestart: Scenario = async (c, phase) => {
  await startup(c, phase);
  const host = c.engineHosts[0]!;
  phase(`restart the agent on host${host}`);
  const before = c.sampleCount;
  await c.host(host).stopAgent();
  c.event(`agent on host${host} stopped (SIGTERM)`);
  await c.host(host).startAgent();
  c.event(`agent on host${host} started again`);
  await waitStates(c, [host], ["EngineUp"], coldStartBudget(c));
  await untouched(c, host, before);
  return {};
};

export const brokerRestart: Scenario = async (c, phase) => {
  await startup(c, phase);
  const host = c.engineHosts[0]!;
  phase(`restart the broker on host${host}`);
  const before = c.sampleCount;
  await c.host(host).stopBroker();
  c.event(`broker on host${host} stopped`);
  await new Promise((r) => setTimeout(r, 3000 * c.profile.timing.loop_delay));
  await c.host(host).startBroker();
  c.event(`broker on host${host} started again`);
  await waitStates(c, [host], ["EngineUp"], coldStartBudget(c));
  await untouched(c, host, before);
  return {};
};

/** The VM stayed on `host`, and ran somewhere, in every hypervisor sample since `sinceSample`. */
async function untouched(c: DemoCluster, host: number, sinceSample: number): Promise<void> {
  const running = await c.sampleHypervisors();
  const why = restartDisturbedVm(host, running, c.sampleCount, sinceSample, c.samplesWithoutVm);
  if (why) throw new Error(why);
}

/**
 * The engine host loses write access to the storage domain (its FUSE view answers EIO
 * to every write; reads still work). Its whiteboard timestamp freezes, so the others
 * stop seeing it alive; its sanlock daemon cannot renew the delta lease, fails the
 * lockspace and runs the agent's kill path, which destroys the engine VM there; once
 * sanlock declares the host dead the VM lease is free and another host starts the
 * engine. No other host's whiteboard segment may be damaged at any point.
 */
export const storageLoss: Scenario = (c, phase) =>
  c.storageKind === "gluster" ? glusterStorageLoss(c, phase) : hostStorageLoss(c, phase);

const hostStorageLoss: Scenario = async (c, phase) => {
  await startup(c, phase);
  const victim = c.engineHosts[0]!;
  const view = c.host(victim).storageView;
  if (!view) throw new Error("storage-loss needs a cluster with per-host storage views");
  phase(`host${victim} loses write access to the storage domain`);
  const t0 = c.elapsed();
  await view.cutWrites("EIO");
  c.event(`host${victim}: every write to the storage domain now fails with EIO`);
  const damaged = new Set<string>();
  const checkSegments = async () => {
    const wb = await c.readWhiteboard();
    for (const e of wb?.errors ?? []) {
      if (!damaged.has(`${e.hostId}:${e.kind}`))
        c.event(`segment of host${e.hostId} damaged: ${e.kind}: ${e.reason}`);
      damaged.add(`${e.hostId}:${e.kind}`);
    }
    return wb;
  };
  let vmGoneAt = Number.NaN;
  let sanlockLog = "";
  const budget =
    coldStartBudget(c) + c.profile.hostDeadSeconds + c.profile.timing.engine_retry_expiration;
  const host = await (async () => {
    let winner = 0;
    await c.waitFor(
      "the engine VM up with good health on another host",
      async () => {
        await checkSegments();
        const running = await c.sampleHypervisors();
        if (Number.isNaN(vmGoneAt) && !running.includes(victim)) {
          vmGoneAt = c.elapsed() - t0;
          // sanlock's own log, read now (it is a ring buffer): did it run the kill path?
          sanlockLog = (await c.host(victim).sanlock?.client(["client", "log_dump"]))?.output ?? "";
          const ran = / kill \d+ sig 100 /.test(sanlockLog);
          c.event(
            `engine VM gone from host${victim} ${vmGoneAt.toFixed(1)}s after the cut (${ran ? "sanlock ran the kill path" : "NOT by the kill path"})`,
          );
        }
        const up = engineUpHost(running, await c.states(), [victim]);
        if (up === undefined) return false;
        winner = up;
        return true;
      },
      budget,
    );
    return winner;
  })();
  const takeover = c.elapsed() - t0;
  c.event(`engine up on host${host} ${takeover.toFixed(1)}s after host${victim} lost storage`);
  const wb = await checkSegments();
  const failure = storageLossFailure({
    victim,
    sanlockLog,
    damaged: [...damaged],
    hosts: c.hosts.map((h) => h.id),
    onWhiteboard: new Set(wb?.hosts.keys() ?? []),
  });
  if (failure) throw new Error(failure);
  return {
    vm_gone_seconds: vmGoneAt,
    takeover_seconds: takeover,
    host_dead_seconds: c.profile.hostDeadSeconds,
  };
};

/**
 * Waits until `host` publishes `target`, collecting every state it publishes meanwhile
 * (the whiteboard is read every 200 ms; each state lasts at least one agent loop).
 */
async function statesUntil(
  c: DemoCluster,
  host: number,
  target: string,
  timeoutSeconds: number,
): Promise<Set<string>> {
  const seen = new Set<string>();
  await c.waitFor(
    `host${host} in ${target}`,
    async () => {
      const st = (await c.states()).get(host)?.state ?? "";
      if (st) seen.add(st);
      return st === target;
    },
    timeoutSeconds,
  );
  return seen;
}

/**
 * The engine VM dies on its host (virsh destroy: the guest crashed). As with VDSM, which
 * keeps the dead VM as `Down`, the host must read it as `down_unexpected` and go straight
 * to EngineUnexpectedlyDown (score 0), never through EngineMaybeAway (the 40 s
 * "migrated away?" wait); another host then starts the engine.
 */
export const engineCrash: Scenario = async (c, phase) => {
  await startup(c, phase);
  const victim = c.engineHosts[0]!;
  phase(`engine VM crashes on host${victim}`);
  const t0 = c.elapsed();
  await c.destroyVm(victim);
  const seen = await statesUntil(c, victim, "EngineUnexpectedlyDown", coldStartBudget(c));
  const noticed = c.elapsed() - t0;
  c.event(
    `host${victim} in EngineUnexpectedlyDown ${noticed.toFixed(1)}s after the crash (via ${[...seen].join(" → ")})`,
  );
  if (seen.has("EngineMaybeAway"))
    throw new Error(`host${victim} went through EngineMaybeAway: the crash read as down_missing`);
  phase("waiting for the engine to come back");
  const host = await waitEngineUp(c, coldStartBudget(c) + c.profile.timing.engine_stop_timeout);
  const back = c.elapsed() - t0;
  c.event(`engine up on host${host} ${back.toFixed(1)}s after the crash`);
  return { unexpectedly_down_seconds: noticed, engine_up_again_seconds: back, up_on: host };
};

/**
 * The engine hangs: its VM runs but the health page answers 500. The engine's host goes
 * to EngineUpBadHealth, waits `engine_bad_health_timeout` (300 s, 30 s scaled), stops
 * the VM (EngineStop), and once the engine answers again it is up with good health.
 */
export const hungEngine: Scenario = async (c, phase) => {
  await startup(c, phase);
  const victim = c.engineHosts[0]!;
  phase(`the engine on host${victim} hangs (health page 500, VM running)`);
  const t0 = c.elapsed();
  c.engineWeb.setHung(true);
  c.event("engine health page answers 500 from now on");
  const t = c.profile.timing;
  await statesUntil(c, victim, "EngineUpBadHealth", 10 * t.loop_delay + 30);
  const bad = c.elapsed() - t0;
  c.event(`host${victim} in EngineUpBadHealth ${bad.toFixed(1)}s after the hang`);
  const seen = await statesUntil(c, victim, "EngineStop", t.engine_bad_health_timeout + 30);
  const stop = c.elapsed() - t0;
  c.event(`host${victim} in EngineStop ${stop.toFixed(1)}s after the hang`);
  if (
    !seen.has("EngineUpBadHealth") ||
    [...seen].some((s) => s !== "EngineUpBadHealth" && s !== "EngineStop")
  )
    throw new Error(`host${victim} went through ${[...seen].join(", ")} on the way to EngineStop`);
  await c.waitFor(
    `the engine VM stopped on host${victim}`,
    async () => !(await c.sampleHypervisors()).includes(victim),
    t.engine_stop_timeout + 30,
  );
  const stopped = c.elapsed() - t0;
  c.event(
    `engine VM stopped on host${victim} ${stopped.toFixed(1)}s after the hang; the engine recovers`,
  );
  c.engineWeb.setHung(false);
  const host = await waitEngineUp(c, coldStartBudget(c) + t.engine_stop_timeout);
  const back = c.elapsed() - t0;
  c.event(`engine up with good health on host${host} ${back.toFixed(1)}s after the hang`);
  return {
    bad_health_seconds: bad,
    engine_stop_seconds: stop,
    vm_stopped_seconds: stopped,
    engine_up_again_seconds: back,
    bad_health_timeout_seconds: t.engine_bad_health_timeout,
  };
};

export const SCENARIOS: Record<ScenarioName, Scenario> & Record<string, Scenario | undefined> = {
  startup,
  failover,
  "global-maintenance": globalMaintenance,
  "local-maintenance": localMaintenance,
  "split-brain": splitBrain,
  "storage-loss": storageLoss,
  "power-off": powerOff,
  "agent-restart": agentRestart,
  "broker-restart": brokerRestart,
  "engine-crash": engineCrash,
  "hung-engine": hungEngine,
};
