import type { Logger } from "../../src/common/log.js";
import { productBin } from "../children.js";
import { procUsage } from "../proc-usage.js";
import { type ChaosTable, chaos } from "./chaos.js";
import { DemoCluster } from "./cluster.js";
import { holdHint } from "./hold-hint.js";
import { predictionTable, printExplain } from "./live-insight.js";
import type { PredictionCheck } from "./prediction.js";
import type { Overlap } from "./run-tracker.js";
import { SCENARIOS } from "./scenarios.js";
import type { DemoStorageKind } from "./storage-kind.js";
import { renderView } from "./view.js";

export interface DemoOptions {
  hosts: number;
  scenario: string;
  json: boolean;
  /** redraw the live view (default: when stdout is a TTY and not --json) */
  live?: boolean;
  ioTimeout?: number;
  /** where the storage domain lives (default gluster: a GlusterFS volume every host mounts) */
  storage?: DemoStorageKind;
  /** block storage: the loop devices' sector size (default 512) */
  sectorSize?: 512 | 4096;
  /** keep the cluster running after the scenario until Ctrl-C (to try he-ha against it) */
  hold?: boolean;
  /** scenario "chaos": seconds of fault injection (default 300) and the generator's seed */
  duration?: number;
  seed?: number;
  log?: Logger;
  out?: NodeJS.WritableStream;
}

export interface ProcessUsage {
  processes: number;
  rssMiB: number;
  cpuSeconds: number;
}

export interface DemoResult {
  scenario: string;
  hosts: number;
  storage: DemoStorageKind;
  /** block storage: the LVs' sector size */
  sectorSize?: 512 | 4096;
  ok: boolean;
  error?: string;
  figures: Record<string, number>;
  doubleRuns: Array<{ t: number; hosts: number[] }>;
  /** overlaps of two hosts' run intervals from the 100 ms looks (lab/demo/run-tracker.ts) */
  overlaps: Overlap[];
  /** scenario "chaos": faults injected by kind, invariant violations, recovery times */
  chaos?: ChaosTable;
  /**
   * scenario "failover": `he-ha simulate --from-live --kill` asked just before the kill,
   * beside the measured failover (a figure, not an assertion)
   */
  prediction?: PredictionCheck;
  hypervisorSamples: number;
  usage: ProcessUsage;
  profile: {
    ioTimeout: number;
    hostDeadSeconds: number;
    loopDelay: number;
    hostAliveTimeout: number;
  };
  timeline: string[];
  logs?: string[];
}

export async function usageOf(pids: number[]): Promise<ProcessUsage> {
  let rss = 0;
  let cpu = 0;
  let n = 0;
  for (const pid of pids) {
    try {
      const u = await procUsage(pid);
      rss += u.rssKiB;
      cpu += u.cpuOwnSeconds;
      n++;
    } catch {
      // the process ended meanwhile
    }
  }
  return {
    processes: n,
    rssMiB: Math.round((rss / 1024) * 10) / 10,
    cpuSeconds: Math.round(cpu * 100) / 100,
  };
}

function clusterPids(c: DemoCluster): number[] {
  return c.hosts.flatMap((h) => Object.values(h.daemonPids()));
}

/**
 * Runs one scenario on a fresh cluster and tears everything down, whatever happens
 * (error, Ctrl-C): every process by its pid, bridges, the temp directory.
 */
export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const scenario =
    opts.scenario === "chaos"
      ? chaos(opts.duration ?? 300, opts.seed ?? 1)
      : SCENARIOS[opts.scenario];
  if (!scenario)
    throw new Error(
      `unknown scenario "${opts.scenario}": one of ${Object.keys(SCENARIOS).join(", ")}`,
    );
  const out = opts.out ?? process.stdout;
  const live = opts.live ?? (!opts.json && (out as NodeJS.WriteStream).isTTY === true);
  let cluster: DemoCluster | undefined;
  let phase = "provisioning";
  let interrupted = false;
  let release: (() => void) | undefined;
  const onSignal = () => {
    if (release) {
      release();
      return;
    }
    interrupted = true;
    if (!cluster) process.exit(130);
    void cluster.teardown().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let viewTimer: NodeJS.Timeout | undefined;
  const result: DemoResult = {
    scenario: opts.scenario,
    hosts: opts.hosts,
    storage: opts.storage ?? "gluster",
    ...(opts.storage === "block" ? { sectorSize: opts.sectorSize ?? 512 } : {}),
    ok: false,
    figures: {},
    doubleRuns: [],
    overlaps: [],
    hypervisorSamples: 0,
    usage: { processes: 0, rssMiB: 0, cpuSeconds: 0 },
    profile: { ioTimeout: 0, hostDeadSeconds: 0, loopDelay: 0, hostAliveTimeout: 0 },
    timeline: [],
  };
  try {
    cluster = DemoCluster.unprovisioned({
      hosts: opts.hosts,
      ioTimeout: opts.ioTimeout,
      log: opts.log,
      storage: opts.storage ?? "gluster",
      ...(opts.sectorSize ? { sectorSize: opts.sectorSize } : {}),
      // local storage: each host's own FUSE view, so that one host alone can lose it
      // (the fault campaign cuts and hangs one host's storage at a time)
      storageViews:
        (opts.scenario === "storage-loss" && opts.storage === "local") || opts.scenario === "chaos",
    });
    const c = cluster;
    if (!live && !opts.json) c.onEvent = (line) => out.write(`${line}\n`);
    await c.provision();
    result.profile = {
      ioTimeout: c.profile.ioTimeout,
      hostDeadSeconds: c.profile.hostDeadSeconds,
      loopDelay: c.profile.timing.loop_delay,
      hostAliveTimeout: c.profile.timing.host_alive_timeout,
    };
    if (live) {
      let drawing = false;
      viewTimer = setInterval(() => {
        if (drawing) return;
        drawing = true;
        c.sample(opts.scenario, phase)
          .then((s) => out.write(`\x1b[2J\x1b[H${renderView(s)}`))
          .catch(() => undefined)
          .finally(() => {
            drawing = false;
          });
      }, 1000);
    }
    // `he-ha explain` at each step of a story (not chaos: its steps are faults), run beside
    // the scenario one at a time and never awaited by it, so no measured interval waits
    let explaining: Promise<void> = Promise.resolve();
    const explainSteps = opts.scenario !== "chaos";
    result.figures = await scenario(c, (p) => {
      phase = p;
      c.event(`-- ${p}`);
      if (explainSteps)
        explaining = explaining.then(() => printExplain(c, p)).catch(() => undefined);
    });
    if (explainSteps) {
      phase = "done";
      await explaining;
      await printExplain(c, "done");
    }
    result.usage = await usageOf(clusterPids(c));
    const overlaps = c.runs.overlaps(c.elapsed());
    result.ok = c.doubleRuns.length === 0 && overlaps.length === 0;
    if (!result.ok)
      result.error = `the engine VM ran on two hosts at once ${c.doubleRuns.length} time(s) in the 500 ms samples, ${overlaps.length} overlap(s) of the 100 ms run intervals`;
    if (opts.hold) {
      phase = "holding (Ctrl-C ends it)";
      for (const line of holdHint(
        c.hosts.map((h) => ({ name: h.name, root: h.root, sanlockRunDir: h.sanlockRunDir })),
        process.execPath,
        productBin("he-ha"),
      ))
        c.event(line);
      c.event("Ctrl-C tears everything down");
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    }
  } catch (e) {
    result.ok = false;
    result.error = interrupted ? "interrupted" : (e as Error).message;
    if (cluster) {
      cluster.event(`FAILED: ${result.error}`);
      result.logs = await cluster.logTails();
    }
  } finally {
    if (viewTimer) clearInterval(viewTimer);
    if (cluster) {
      result.doubleRuns = cluster.doubleRuns;
      result.overlaps = cluster.runs.overlaps(cluster.elapsed());
      if (cluster.chaos) result.chaos = cluster.chaos;
      if (cluster.prediction) result.prediction = cluster.prediction;
      result.hypervisorSamples = cluster.sampleCount;
      result.timeline = [...cluster.events];
      if (live)
        out.write(
          `\x1b[2J\x1b[H${renderView(await cluster.sample(opts.scenario, "done").catch(() => emptySample(opts.scenario)))}`,
        );
      await cluster.teardown();
    }
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
  return result;
}

/** The chaos run's table: faults by kind, recovery (median, max), violations. */
export function chaosTable(t: ChaosTable): string[] {
  const rows = ["fault kind                 injected  recovery median  max"];
  for (const [k, n] of Object.entries(t.injected).sort()) {
    const r = t.recovery[k];
    rows.push(
      `${k.padEnd(26)} ${String(n).padStart(8)}  ${r ? `${r.median.toFixed(1)} s`.padStart(15) : "".padStart(15)}  ${r ? `${r.max.toFixed(1)} s` : ""}`,
    );
  }
  rows.push(`invariant violations: ${t.violations.length}`);
  for (const v of t.violations) rows.push(`  ${v.kind}: ${v.detail}`);
  return rows;
}

function emptySample(scenario: string) {
  return { t: 0, scenario, phase: "done", globalMaintenance: false, hosts: [], events: [] };
}

/** The human summary printed after a run. */
export function summary(r: DemoResult): string {
  const lines = [
    "",
    `scenario ${r.scenario} on ${r.hosts} hosts: ${r.ok ? "PASSED" : "FAILED"}${r.error ? ` (${r.error})` : ""}`,
    `storage: ${r.storage}${r.sectorSize ? ` (${r.sectorSize}-byte sectors)` : ""}; profile: sanlock io_timeout ${r.profile.ioTimeout}s, host dead after ${r.profile.hostDeadSeconds}s, loop ${r.profile.loopDelay}s, alive timeout ${r.profile.hostAliveTimeout}s`,
    `hypervisor samples: ${r.hypervisorSamples}, engine VM on two hosts at once: ${r.doubleRuns.length} time(s); run-interval overlaps (100 ms looks): ${r.overlaps.length}`,
  ];
  if (r.chaos) lines.push(...chaosTable(r.chaos));
  if (r.prediction) lines.push(...predictionTable(r.prediction));
  for (const [k, v] of Object.entries(r.figures))
    lines.push(`  ${k.padEnd(26)} ${Number.isInteger(v) ? v : v.toFixed(2)}`);
  lines.push(
    `cluster processes: ${r.usage.processes}, RSS ${r.usage.rssMiB} MiB, CPU ${r.usage.cpuSeconds} s`,
  );
  if (r.logs) lines.push("last log lines of every host:", ...r.logs);
  return `${lines.join("\n")}\n`;
}
