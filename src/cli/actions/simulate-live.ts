import { loadAgentConf } from "../../common/agent-conf.js";
import { loadHostConfig } from "../../common/host-config.js";
import { haPaths } from "../../common/paths.js";
import type { ExplainDoc } from "../../explain/explain.js";
import { formatEntry, runScenario } from "../../simulator/index.js";
import {
  engineFirst,
  engineUpBefore,
  eventTime,
  type LiveSeed,
  liveScenario,
  othersSettleSeconds,
  predict,
  predictionInputs,
  type WhatIf,
} from "../../whatif/from-live.js";
import { withBroker } from "../broker-connection.js";
import { CliError, UsageError } from "../errors.js";

export interface LiveFlags {
  json?: boolean;
  kill?: string;
  maintenance?: string;
  storageLoss?: string;
  gatewayDown?: string;
  restoreAfter?: string;
}

/** Virtual seconds the seeded cluster gets to start the engine before the event. */
const SETTLE_SECONDS = 3600;
/** Virtual seconds simulated after the event. */
const AFTER_SECONDS = 1800;

function hostArg(flag: string, v: string): number {
  const m = /^(?:host)?(\d+)$/.exec(v.trim());
  if (!m) throw new UsageError(`${flag} "${v}": expected a host id (N or hostN)`);
  return Number(m[1]);
}

function seconds(flag: string, v: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < 0)
    throw new UsageError(`${flag} "${v}": expected seconds (a number ≥ 0)`);
  return n;
}

function whatIf(f: LiveFlags, localId: number): WhatIf {
  if (f.kill !== undefined) return { kind: "kill", host: hostArg("--kill", f.kill) };
  if (f.storageLoss !== undefined)
    return {
      kind: "storage-loss",
      host: f.storageLoss.trim() === "all" ? null : hostArg("--storage-loss", f.storageLoss),
      restoreAfter:
        f.restoreAfter === undefined ? null : seconds("--restore-after", f.restoreAfter),
    };
  if (f.restoreAfter !== undefined)
    throw new UsageError("--restore-after goes with --storage-loss");
  if (f.gatewayDown !== undefined)
    return { kind: "gateway-down", host: hostArg("--gateway-down", f.gatewayDown) };
  const mode = f.maintenance;
  if (mode !== "local" && mode !== "global")
    throw new UsageError(`--maintenance "${mode}": expected local or global`);
  return { kind: "maintenance", mode, host: localId };
}

const rel = (t: number | null, at: number) => (t === null ? "not within the run" : `+${t - at} s`);

/**
 * `he-ha simulate --from-live --kill hostN|…`: the live cluster (this host's broker:
 * whiteboard, every host's published state and penalties, this host's agent.conf and
 * io_timeout) as a simulator scenario; the simulated agents first settle (engine up),
 * then the event happens and the predicted timeline is printed.
 */
export async function simulateLive(f: LiveFlags): Promise<void> {
  const paths = haPaths();
  const [conf, hostConf] = await Promise.all([
    loadAgentConf(paths.agentConf),
    loadHostConfig(paths.hostConf),
  ]);
  const [explain, segments] = await withBroker(
    async (b) => [await b.getJson<ExplainDoc>("/v1/explain"), await b.getStats()] as const,
  );
  const w = whatIf(f, explain.host_id);
  const seed: LiveSeed = { explain, conf, ioTimeout: hostConf.sanlockIoTimeout, segments };
  const first = engineFirst(seed);
  const settle = await runScenario(
    liveScenario(seed, SETTLE_SECONDS, null, first === null ? null : { first, othersAt: null }),
  );
  const up = engineUpBefore(settle.entries, SETTLE_SECONDS);
  if (up === null)
    throw new CliError("the simulated cluster never started the engine: nothing to predict from");
  const loop = conf.timing.loop_delay;
  const othersAt = first === null ? null : up.at + loop;
  const { reference: at, event } = eventTime(
    seed,
    w,
    othersAt === null ? up.at + 3 * loop : othersAt + othersSettleSeconds(seed),
    (id) => (first === null || id === first ? 0 : othersAt!),
  );
  const run = await runScenario(
    liveScenario(
      seed,
      at + AFTER_SECONDS,
      { w, at: event },
      first === null ? null : { first, othersAt: othersAt! },
    ),
  );
  const p = predict(run.entries, w, at);
  const after = run.entries.filter((e) => e.t >= at);
  const inputs = predictionInputs(seed);
  if (f.json) {
    process.stdout.write(
      `${JSON.stringify({
        live_engine_host_id: explain.verdict.engine_host_id,
        simulated_hosts: Object.keys(run.finalStates).length,
        prediction: p,
        inputs,
        assumptions: inputs
          .filter((i) => i.assumed)
          .map((i) => `${i.key}=${i.seconds}: ${i.source}`),
        timeline: after.map((e) => ({ t: e.t - at, host: e.who || null, event: e.text })),
      })}\n`,
    );
    return;
  }
  const lines = [
    `Seeded from host ${explain.host_id}'s broker: ${explain.hosts.filter((h) => h.alive).length} live host(s), engine live on host ${explain.verdict.engine_host_id ?? "none"}; simulated engine on ${p.engine_host ?? "none"} when the event happens.`,
    `Event: ${p.event}`,
    `  engine down:        ${rel(p.engine_down_at, at)}`,
    `  started on:         ${p.started_on ?? "no host"} at ${rel(p.started_at, at)}`,
    `  up with good health: ${rel(p.up_at, at)}`,
    "",
    "Durations it ran on:",
    ...inputs.map((i) => `  ${i.key.padEnd(30)} ${String(i.seconds).padStart(6)} s  ${i.source}`),
    "",
    "Timeline (seconds after the event):",
    ...after.map((e) => formatEntry({ ...e, t: e.t - at })),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}
