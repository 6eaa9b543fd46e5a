import { writeFile } from "node:fs/promises";
import os from "node:os";
import type { BenchResult } from "./types.js";

/**
 * `npm run bench`: runs every benchmark module, prints one table and writes
 * bench-results.json. `npm run bench -- whiteboard broker` runs only those.
 */
const suites: Record<string, () => Promise<{ run(): Promise<BenchResult[]> }>> = {
  // SUITES (one per line)
  whiteboard: () => import("./whiteboard.js"),
  archive: () => import("./archive.js"),
  broker: () => import("./broker.js"),
  agent: () => import("./agent.js"),
  cli: () => import("./cli.js"),
  lease: () => import("./lease.js"),
  failover: () => import("./failover.js"),
  flood: () => import("./flood.js"),
  resources: () => import("./resources.js"),
  takeover: () => import("./takeover.js"),
  prediction: () => import("./prediction.js"),
  soak: () => import("./soak.js"),
};

function fmt(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return "";
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const all: Array<BenchResult & { suite: string }> = [];
  for (const [suite, load] of Object.entries(suites)) {
    if (wanted.length > 0 && !wanted.includes(suite)) continue;
    process.stderr.write(`bench: ${suite}...\n`);
    try {
      for (const r of await (await load()).run()) {
        all.push({ suite, ...r });
        // each figure as soon as it exists, so a later failure loses nothing
        process.stderr.write(
          `  ${r.name}: median ${fmt(r.median)} ${r.unit}${r.p99 === undefined ? "" : `, p99 ${fmt(r.p99)}`}\n`,
        );
      }
    } catch (e) {
      process.stderr.write(`bench: ${suite} failed: ${(e as Error).stack ?? e}\n`);
      process.exitCode = 1;
    }
  }
  const rows = all.map((r) => [
    r.suite,
    r.name,
    fmt(r.median),
    fmt(r.p99),
    r.unit,
    String(r.samples),
    r.target ?? "",
    r.note ?? "",
  ]);
  const head = ["suite", "benchmark", "median", "p99", "unit", "n", "target", "note"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
  const out = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      memGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
    },
    results: all,
  };
  await writeFile("bench-results.json", `${JSON.stringify(out, null, 2)}\n`);
  console.log("\nwritten: bench-results.json");
}

await main();
