import { loadavg } from "node:os";
import type { PredictionCheck } from "../lab/demo/prediction.js";
import { runDemo } from "../lab/demo/run.js";
import { type BenchResult, summarize } from "./types.js";

/**
 * `npm run bench -- prediction`: `he-ha simulate --from-live`, asked on the demo cluster
 * just before each story's event, beside what the cluster then did: the failover (kill
 * the engine's host), local maintenance on the engine's host, and the storage lost on
 * every host (the GlusterFS volume stopped for 8 × io_timeout + 4 s). Predicted and
 * measured engine_up_seconds (event → engine up with good health), medians of RUNS runs
 * each; the machine's load average beside them. A figure, never a timed assertion.
 */
const RUNS = Number(process.env.HE_HA_BENCH_PREDICTION_RUNS ?? 3);
const STORIES = ["failover", "local-maintenance", "storage-loss"] as const;

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const table: string[] = [];
  for (const story of STORIES) {
    const checks: PredictionCheck[] = [];
    const loads: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await runDemo({ hosts: 3, scenario: story, json: true, live: false });
      loads.push(loadavg()[0]!);
      if (!r.ok) {
        process.stderr.write(`  ${story} run ${i + 1} failed: ${r.error}\n`);
        continue;
      }
      if (r.prediction) checks.push(r.prediction);
      const p = r.prediction;
      process.stderr.write(
        `  ${story} run ${i + 1}: predicted ${p?.predicted_engine_up_seconds ?? "-"} s on ${p?.predicted_host ?? "-"}, measured ${p?.measured_engine_up_seconds?.toFixed(1) ?? "-"} s on host${p?.measured_host_id ?? "-"} (load ${loads.at(-1)!.toFixed(1)})\n`,
      );
    }
    const nums = (f: (c: PredictionCheck) => number | null) =>
      checks.map(f).filter((x): x is number => x !== null && Number.isFinite(x));
    const predicted = nums((c) => c.predicted_engine_up_seconds);
    const measured = nums((c) => c.measured_engine_up_seconds);
    const diff = nums((c) => c.difference_seconds);
    const load = summarize(loads).median.toFixed(1);
    const assumed = [...new Set(checks.flatMap((c) => c.assumptions.map((a) => a.split(":")[0])))];
    const note = `load ${load}${assumed.length ? `; assumed ${assumed.join(", ")}` : ""}`;
    out.push(
      {
        name: `${story}: predicted engine_up_seconds`,
        unit: "s",
        median: summarize(predicted).median,
        samples: predicted.length,
        note,
      },
      {
        name: `${story}: measured engine_up_seconds`,
        unit: "s",
        median: summarize(measured).median,
        samples: measured.length,
        note,
      },
      {
        name: `${story}: measured − predicted`,
        unit: "s",
        median: summarize(diff).median,
        samples: diff.length,
        target: `within ±${checks[0]?.loop_seconds ?? 1} s (one loop)`,
        note: `${checks.filter((c) => c.within_loop).length}/${checks.length} within one loop, same host`,
      },
    );
    table.push(
      `${story.padEnd(18)} ${summarize(predicted).median.toFixed(1).padStart(9)} ${summarize(measured).median.toFixed(1).padStart(9)} ${summarize(diff).median.toFixed(1).padStart(6)}  n=${checks.length}  load ${load}`,
    );
  }
  process.stderr.write(
    `prediction vs measurement, engine_up_seconds (medians):\nstory              predicted  measured   diff\n${table.join("\n")}\n`,
  );
  return out;
}
