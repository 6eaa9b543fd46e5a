import { runDemo } from "../lab/demo/run.js";
import { type BenchResult, summarize } from "./types.js";

/**
 * Failover on the demo cluster (3 hosts, sanlock io_timeout 1, production ratios):
 * detection (kill → another host decides to start) and failover (kill → engine VM
 * running with good health elsewhere), median of RUNS runs, in seconds and as a multiple
 * of sanlock's host-dead time (8 × io_timeout). Also the cluster's memory and CPU.
 */
const RUNS = Number(process.env.HE_HA_BENCH_FAILOVER_RUNS ?? 5);

export async function run(): Promise<BenchResult[]> {
  const detection: number[] = [];
  const failover: number[] = [];
  const rss: number[] = [];
  const cpu: number[] = [];
  let hostDead = 8;
  let startup: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await runDemo({ hosts: 3, scenario: "failover", json: true, live: false });
    if (!r.ok)
      throw new Error(`failover run ${i + 1} failed: ${r.error}\n${r.timeline.join("\n")}`);
    detection.push(r.figures.detection_seconds!);
    failover.push(r.figures.failover_seconds!);
    startup.push(r.figures.engine_up_seconds!);
    hostDead = r.profile.hostDeadSeconds;
    rss.push(r.usage.rssMiB);
    cpu.push(r.usage.cpuSeconds);
  }
  const d = summarize(detection);
  const f = summarize(failover);
  startup = startup.filter((x) => Number.isFinite(x));
  return [
    {
      name: "cold start → engine up (3 hosts)",
      unit: "s",
      median: summarize(startup).median,
      samples: startup.length,
    },
    {
      name: "detection: kill → another host starts",
      unit: "s",
      median: d.median,
      samples: RUNS,
      note: `${(d.median / hostDead).toFixed(2)} × host-dead (${hostDead} s)`,
    },
    {
      name: "failover: kill → engine up+good elsewhere",
      unit: "s",
      median: f.median,
      samples: RUNS,
      target: `< 1.5 × ${hostDead} s + VM start`,
      note: `${(f.median / hostDead).toFixed(2)} × host-dead (${hostDead} s)`,
    },
    {
      name: "demo cluster RSS (all processes, 3 hosts)",
      unit: "MiB",
      median: summarize(rss).median,
      samples: RUNS,
    },
    {
      name: "demo cluster CPU time over one failover run",
      unit: "s",
      median: summarize(cpu).median,
      samples: RUNS,
    },
  ];
}
