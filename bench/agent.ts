import { performance } from "node:perf_hooks";
import { DemoCluster } from "../lab/demo/cluster.js";
import { usageOf } from "../lab/demo/run.js";
import { collectionFrom } from "../src/agent/collect.js";
import { type AgentMemory, decide, initialMemory, settleDecision } from "../src/agent/decide.js";
import { hostBlockInput } from "../src/agent/publish.js";
import { DEFAULT_SCORE_CONFIG } from "../src/common/agent-conf.js";
import { DEFAULT_TIMING } from "../src/common/timing.js";
import {
  decodeSegments,
  encodeGlobalBlock,
  encodeHostBlock,
} from "../src/storage/whiteboard/index.js";
import { type BenchResult, summarize } from "./types.js";
import { envNote, unitEnvironment } from "./unit-env.js";

const HOSTS = 64;
const LOCAL_ID = 1;
const MONITORS = {
  network: "1.0",
  "mgmt-bridge": "True",
  "mem-free": "16384",
  "cpu-load-no-engine": "0.1234",
  "engine-health":
    '{"vm": "down", "health": "bad", "detail": "unknown", "reason": "vm not running on this host"}',
  "storage-domain": "True",
};

/** get_stats as the broker returns it: 64 host segments plus the global one, as bytes. */
function stats(t: number): Map<number, Buffer> {
  const m = new Map<number, Buffer>([[0, encodeGlobalBlock({ maintenance: false, unknown: {} })]]);
  for (let id = 1; id <= HOSTS; id++) {
    m.set(
      id,
      encodeHostBlock({
        timestamp: t + id,
        hostId: id,
        score: 3400 - id,
        engineStatus:
          id === 7
            ? { vm: "up", health: "good", detail: "Up" }
            : {
                vm: "down",
                health: "bad",
                detail: "unknown",
                reason: "vm not running on this host",
              },
        hostname: `host${id}.example.com`,
        maintenance: false,
        stopped: false,
        confOnSharedStorage: true,
        vmConfRefreshTime: 100,
        stateExtra: {
          maintenance: "False",
          state: id === 7 ? "EngineUp" : "EngineDown",
          stopped: "False",
        },
      }),
    );
  }
  return m;
}

/** One loop step: decode get_stats, collect, decide, settle, encode the block to publish. */
function loopStep(memory: AgentMemory, raw: Map<number, Buffer>, t: number): AgentMemory {
  const collection = collectionFrom({
    hostId: LOCAL_ID,
    snapshot: decodeSegments(raw),
    monitors: MONITORS,
    haConf: { localMaintenance: false, localMaintenanceManual: false },
    collectStart: t,
    collectFinish: t,
  });
  const d = decide(memory, collection, {
    hostId: LOCAL_ID,
    scoreConfig: DEFAULT_SCORE_CONFIG,
    timing: DEFAULT_TIMING,
    confUpToDate: true,
    vmMemSizeMb: 4096,
  });
  const s = settleDecision(d, true);
  encodeHostBlock(
    hostBlockInput({
      hostId: LOCAL_ID,
      hostname: "host1.example.com",
      collection,
      data: s.memory.fsm,
      ctx: d.ctx,
      confOnSharedStorage: true,
      vmConfRefreshTime: 100,
      timeEpoch: 1_700_000_000,
    }),
  );
  return s.memory;
}

export async function run(): Promise<BenchResult[]> {
  // pre-encode one whiteboard per loop so the timing covers decoding, not encoding input
  const LOOPS = 2000;
  const boards = Array.from({ length: 100 }, (_, i) => stats(i * 10));
  let memory = initialMemory();
  // warm up and fill 15 min of history (90 collections), as in steady state
  for (let i = 0; i < 200; i++) memory = loopStep(memory, boards[i % boards.length]!, i * 10);
  const samples: number[] = [];
  for (let i = 200; i < 200 + LOOPS; i++) {
    const raw = boards[i % boards.length]!;
    const t0 = performance.now();
    memory = loopStep(memory, raw, i * 10);
    samples.push(performance.now() - t0);
  }
  const { median, p99 } = summarize(samples);
  return [
    ...(await agentProcess()),
    {
      name: `agent loop step (decode ${HOSTS}-host get_stats, collect, decide, publish; ${memory.history.length} collections of history)`,
      unit: "ms",
      median,
      p99,
      samples: samples.length,
      target: "< 50 ms",
      note: "storage and broker round trips excluded",
    },
  ];
}

/** The systemd unit's settings (systemd/ovirt-ha-agent.service); NODE_OPTIONS may be overridden. */
async function agentUnitEnv(): Promise<Record<string, string>> {
  const env = await unitEnvironment("ovirt-ha-agent");
  const override = process.env.BENCH_AGENT_NODE_OPTIONS;
  return override === undefined ? env : { ...env, NODE_OPTIONS: override };
}
const IDLE_S = Number(process.env.BENCH_AGENT_IDLE_S ?? 60);

/**
 * Sets (or, for undefined, unsets) variables in the real process environment and returns
 * their previous values. Never replace `process.env` itself: the replacement is a plain
 * object, and native code (libsanlock reading SANLOCK_RUN_DIR) no longer sees the changes.
 */
function setEnv(vars: Record<string, string | undefined>): Record<string, string | undefined> {
  const previous: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    previous[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return previous;
}

/**
 * The compiled agent as a process on one simulated host at production timing (sanlock
 * io_timeout 10, so a 10 s loop), started with the unit's environment: RSS after a
 * settling period and CPU over IDLE_S seconds while it loops (collect, decide, publish).
 */
async function agentProcess(): Promise<BenchResult[]> {
  const unitEnv = await agentUnitEnv();
  const saved = setEnv(unitEnv);
  const cluster = await DemoCluster.create({ hosts: 1, ioTimeout: 10 });
  try {
    const host = cluster.host(1);
    await host.start();
    setEnv(saved);
    await new Promise((r) => setTimeout(r, 30_000));
    const pid = host.agent?.pid;
    if (pid === undefined) throw new Error("the agent is not running");
    const before = await usageOf([pid]);
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const after = await usageOf([pid]);
    if (after.processes !== 1) throw new Error("the agent exited during the measurement");
    const cpuPct = ((after.cpuSeconds - before.cpuSeconds) / IDLE_S) * 100;
    const note = `one host, 10 s loop, ${envNote(unitEnv)}`;
    return [
      {
        name: "agent RSS (compiled, looping)",
        unit: "MiB",
        median: after.rssMiB,
        samples: 1,
        target: "< 80 MB (76.3 MiB)",
        note: `= ${(after.rssMiB * 1.048576).toFixed(1)} MB; ${note}`,
      },
      {
        name: "agent CPU while looping",
        unit: "% of a core",
        median: cpuPct,
        samples: 1,
        note: `${IDLE_S} s; ${note}`,
      },
    ];
  } finally {
    setEnv(saved);
    await cluster.teardown();
  }
}
