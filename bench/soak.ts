import os from "node:os";
import { DemoCluster } from "../lab/demo/cluster.js";
import { coldStartBudget, waitEngineUp } from "../lab/demo/scenario-steps.js";
import { type ProcUsage, procUsage } from "../lab/proc-usage.js";
import { isFlat, leastSquares } from "./slope.js";
import type { BenchResult } from "./types.js";
import { summarize } from "./types.js";
import { envNote, forHost, unitEnvironment } from "./unit-env.js";

/**
 * Soak: the demo cluster (3 hosts, demo timing: sanlock io_timeout 1 s, 1 s loops, so an
 * hour is ≥ 10 hours of production loops) left running with the engine up, every daemon
 * of every host (broker, agent, sanlock, libvirtd and its keeper) sampled once a minute:
 * RSS, USS (smaps_rollup Private_Clean + Private_Dirty) and CPU (own + waited-for
 * children). Per daemon: the least-squares slope of RSS and USS in MiB per hour (with
 * its standard error; flat = within ±2 standard errors of 0 or under 1 MiB/h) and the
 * CPU per minute (median of the per-minute deltas, and their slope: a daemon whose work
 * per loop grows shows it there). The broker and agent run with their units'
 * `Environment=`. A daemon that exits or a second engine VM ends the run as a failure.
 *
 * `BENCH_SOAK_MINUTES` (default 60), `BENCH_SOAK_SETTLE_S` (default 120: start-up and
 * the first GCs are not the trend), `BENCH_SOAK_SAMPLE_S` (default 60),
 * `BENCH_SOAK_HOSTS` (default 3).
 */
const MINUTES = Number(process.env.BENCH_SOAK_MINUTES ?? 60);
const SETTLE_S = Number(process.env.BENCH_SOAK_SETTLE_S ?? 120);
const SAMPLE_S = Number(process.env.BENCH_SOAK_SAMPLE_S ?? 60);
const HOSTS = Number(process.env.BENCH_SOAK_HOSTS ?? 3);
/** growth under this (MiB per hour) is flat however steady it is */
const FLAT_FLOOR_MIB_PER_H = 1;

interface Track {
  pid: number;
  /** hours since the first sample */
  t: number[];
  rss: number[];
  uss: number[];
  /** cumulative CPU seconds (own + children) at each sample */
  cpu: number[];
}

const mib = (kib: number) => kib / 1024;
const cpuOf = (u: ProcUsage) => u.cpuOwnSeconds + u.cpuChildrenSeconds;
const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

function fmtSlope(v: number, se: number): string {
  return `${v >= 0 ? "+" : ""}${v.toFixed(2)} ± ${(2 * se).toFixed(2)}`;
}

export async function run(): Promise<BenchResult[]> {
  const env = {
    broker: await unitEnvironment("ovirt-ha-broker"),
    agent: await unitEnvironment("ovirt-ha-agent"),
  };
  const cluster = await DemoCluster.create({ hosts: HOSTS, ioTimeout: 1 });
  try {
    for (const h of cluster.hosts)
      h.daemonEnv = { broker: forHost(env.broker, h.logDir), agent: forHost(env.agent, h.logDir) };
    await cluster.startAll();
    const engineHost = await waitEngineUp(cluster, coldStartBudget(cluster));
    await sleep(SETTLE_S);
    const tracks = new Map<string, Track>();
    for (const h of cluster.hosts)
      for (const [daemon, pid] of Object.entries(h.daemonPids()))
        tracks.set(`${h.name} ${daemon}`, { pid, t: [], rss: [], uss: [], cpu: [] });
    const loads: number[] = [];
    const t0 = performance.now();
    const samples = Math.floor((MINUTES * 60) / SAMPLE_S) + 1;
    for (let i = 0; i < samples; i++) {
      if (i > 0) await sleep(t0 / 1000 + i * SAMPLE_S - performance.now() / 1000);
      const hours = (performance.now() - t0) / 3_600_000;
      loads.push(os.loadavg()[0]!);
      for (const [key, tr] of tracks) {
        const u = await procUsage(tr.pid).catch(() => {
          throw new Error(
            `${key} (pid ${tr.pid}) exited during the soak, at ${(hours * 60).toFixed(1)} min`,
          );
        });
        tr.t.push(hours);
        tr.rss.push(mib(u.rssKiB));
        tr.uss.push(mib(u.ussKiB));
        tr.cpu.push(cpuOf(u));
      }
      if (cluster.doubleRuns.length > 0)
        throw new Error(
          `the engine VM ran on two hosts at once during the soak, at ${(hours * 60).toFixed(1)} min`,
        );
      const sum = (f: (tr: Track) => number) =>
        [...tracks.values()].reduce((a, tr) => a + f(tr), 0);
      process.stderr.write(
        `  soak ${(hours * 60).toFixed(1)} min: RSS ${sum((tr) => tr.rss.at(-1)!).toFixed(1)} MiB, ` +
          `CPU ${sum((tr) => tr.cpu.at(-1)! - tr.cpu[0]!).toFixed(1)} s, load ${loads.at(-1)!.toFixed(2)}\n`,
      );
    }
    const hours = (performance.now() - t0) / 3_600_000;
    const running = await cluster.sampleHypervisors();
    const l = summarize(loads);
    const where = `${HOSTS} hosts, io_timeout 1 s, engine on host${engineHost}; ${(hours * 60).toFixed(0)} min after ${SETTLE_S} s settling, one sample each ${SAMPLE_S} s; load average median ${l.median.toFixed(1)}, max ${Math.max(...loads).toFixed(1)} on ${os.cpus().length} CPUs; engine VM at the end on host(s) ${running.join(",") || "none"}`;
    process.stderr.write(`  soak: ${where}\n`);
    const out: BenchResult[] = [];
    for (const [key, tr] of tracks) {
      const daemon = key.split(" ")[1]!;
      const flags = daemon === "broker" || daemon === "agent" ? `; ${envNote(env[daemon])}` : "";
      for (const [what, ys] of [
        ["RSS", tr.rss],
        ["USS", tr.uss],
      ] as const) {
        const s = leastSquares(tr.t, ys);
        out.push({
          name: `${key} ${what} slope`,
          unit: "MiB/h",
          median: s.slope,
          samples: ys.length,
          target: "flat",
          note: `${fmtSlope(s.slope, s.stderr)} MiB/h (±2 SE): ${isFlat(s, FLAT_FLOOR_MIB_PER_H) ? "flat" : "NOT flat"}; ${ys[0]!.toFixed(1)} → ${ys.at(-1)!.toFixed(1)} MiB, median ${summarize(ys).median.toFixed(1)}${flags}`,
          series: ys.map((v) => Math.round(v * 100) / 100),
        });
      }
      const perMin = tr.cpu.slice(1).map((c, i) => ((c - tr.cpu[i]!) * 60) / SAMPLE_S);
      const cs = leastSquares(tr.t.slice(1), perMin);
      out.push({
        name: `${key} CPU per minute`,
        unit: "CPU-s/min",
        median: summarize(perMin).median,
        samples: perMin.length,
        note: `total ${(tr.cpu.at(-1)! - tr.cpu[0]!).toFixed(1)} s; trend ${fmtSlope(cs.slope, cs.stderr)} CPU-s/min per h (±2 SE)${key.endsWith("agent") ? `; ${where}` : ""}`,
        series: perMin.map((v) => Math.round(v * 1000) / 1000),
      });
    }
    return out;
  } finally {
    await cluster.teardown();
  }
}
