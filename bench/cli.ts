import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { productBin } from "../lab/children.js";
import { engineOvf } from "../lab/paths.js";
import { runCommand } from "../lab/standins/processes.js";
import { BrokerClient } from "../src/broker/client.js";
import { haPaths } from "../src/common/paths.js";
import { encodeHostBlock, SEGMENT_SIZE } from "../src/storage/whiteboard/index.js";
import { type BenchResult, summarize } from "./types.js";

/**
 * Wall time of `he-ha status --json` as a whole process (node start, CLI, XML-RPC
 * get_stats + is_host_alive, decode, print) against a real ovirt-ha-broker whose
 * whiteboard holds 64 hosts. Median of 20 runs after one warm-up.
 *
 * Before/after side by side: HE_HA_BENCH_BASELINE=<another build's dist/src/bin/he-ha.js>
 * (e.g. a copy of dist/ from before a change, with node_modules linked next to it) adds
 * the same figures for that build, its runs interleaved with this build's so both see
 * the same machine load.
 */
const HOSTS = 64;
const RUNS = 20;

/** Runs node with `args`; wall time from spawn to exit. */
async function runProcess(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; output: string; ms: number }> {
  const start = performance.now();
  const r = await runCommand(process.execPath, args, env);
  return { ...r, ms: performance.now() - start };
}

export async function run(): Promise<BenchResult[]> {
  const heHa = productBin("he-ha");
  const brokerBin = productBin("ovirt-ha-broker");
  const root = await mkdtemp(path.join(os.tmpdir(), "he-ha-bench-cli-"));
  const env = { ...process.env, HE_HA_ROOT: root, HE_HA_SOCKET_GROUP: "" };
  let broker: ChildProcess | undefined;
  let client: BrokerClient | undefined;
  try {
    const seed = path.join(root, "seed.conf");
    const base =
      "fqdn=engine.example.com\nhost_id=1\nstorage=nfs.example.com:/he\ndomainType=nfs\nnetwork_test=none\n";
    await writeFile(seed, base);
    const init = await runProcess(
      [
        heHa,
        "storage",
        "init",
        "--domain",
        path.join(root, "sd", "5f2b9c1e-3a4d-4e6f-8a9b-0c1d2e3f4a5b"),
        "--ovf",
        engineOvf(),
        "--host-conf",
        seed,
        "--io-timeout",
        "1",
        "--json",
      ],
      env,
    );
    if (init.code !== 0) throw new Error(`he-ha storage init: ${init.output}`);
    const result = JSON.parse(init.output) as {
      confLines: Record<string, string>;
      volumes: { metadata: { path: string } };
    };
    const paths = haPaths(root);
    await mkdir(path.dirname(paths.hostConf), { recursive: true });
    await writeFile(
      paths.hostConf,
      base +
        Object.entries(result.confLines)
          .map(([k, v]) => `${k}=${v}\n`)
          .join(""),
    );
    await mkdir(path.dirname(paths.agentConf), { recursive: true });
    await writeFile(paths.agentConf, "[timing]\nbroker_storage_cycle = 0.5\n");

    const { open } = await import("node:fs/promises");
    const fh = await open(result.volumes.metadata.path, "r+");
    try {
      for (let id = 1; id <= HOSTS; id++) {
        const block = encodeHostBlock({
          timestamp: 5000 + id,
          hostId: id,
          score: 3400 - id,
          engineStatus:
            id === 1
              ? { vm: "up", health: "good", detail: "Up" }
              : {
                  vm: "down",
                  health: "bad",
                  detail: "unknown",
                  reason: "vm not running on this host",
                },
          hostname: `hypervisor-${String(id).padStart(3, "0")}.example.com`,
          maintenance: false,
          stopped: false,
          confOnSharedStorage: true,
          vmConfRefreshTime: 4000,
          stateExtra: {
            maintenance: "False",
            state: id === 1 ? "EngineUp" : "EngineDown",
            stopped: "False",
          },
        });
        await fh.write(block, 0, SEGMENT_SIZE, id * SEGMENT_SIZE);
      }
    } finally {
      await fh.close();
    }

    broker = spawn(process.execPath, [brokerBin, "--log-level", "error", "--no-log-pretty"], {
      env,
      stdio: "ignore",
    });
    client = new BrokerClient(paths.brokerSocket, { timeoutMs: 2000 });
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const stats = await client.getStats();
        if (stats.size >= HOSTS) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error("broker did not show 64 hosts within 30 s");
      await new Promise((r) => setTimeout(r, 100));
    }
    await client.pushHostsState(Array.from({ length: HOSTS }, (_, i) => i + 1));

    const baseline = process.env.HE_HA_BENCH_BASELINE;
    const builds = [heHa, ...(baseline ? [baseline] : [])];
    /** Runs `he-ha args` RUNS times per build, the builds taking turns. */
    const measure = async (args: string[]) => {
      const samples = builds.map(() => [] as number[]);
      let last = "";
      for (let i = -1; i < RUNS; i++) {
        for (const [b, bin] of builds.entries()) {
          const r = await runProcess([bin, ...args], env);
          if (r.code !== 0)
            throw new Error(`${bin} ${args.join(" ")}: exit ${r.code}: ${r.output}`);
          if (i < 0) {
            if (b === 0) last = r.output; // warm-up
          } else samples[b]!.push(r.ms);
        }
      }
      return { samples, last };
    };
    const status = await measure(["status", "--json"]);
    const shown = Object.keys(JSON.parse(status.last) as object).length - 1;
    if (shown !== HOSTS) throw new Error(`status --json showed ${shown} hosts, expected ${HOSTS}`);
    const help = await measure(["--help"]);
    const bare: number[] = [];
    for (let i = 0; i < RUNS; i++) bare.push((await runProcess(["-e", "0"], env)).ms);
    const results: BenchResult[] = [];
    for (const [b, bin] of builds.entries()) {
      const tag = b === 0 ? "" : ` [baseline ${bin}]`;
      const s = summarize(status.samples[b]!);
      const h = summarize(help.samples[b]!);
      results.push(
        {
          name: `he-ha status --json, 64 hosts (whole process)${tag}`,
          unit: "ms",
          median: s.median,
          p99: s.p99,
          samples: RUNS,
          ...(b === 0 ? { target: "< 250 ms" } : {}),
        },
        {
          name: `he-ha --help (process start + command tree, baseline)${tag}`,
          unit: "ms",
          median: h.median,
          p99: h.p99,
          samples: RUNS,
          note: "what status costs beyond this is the broker round trip, decoding and printing",
        },
      );
    }
    const bs = summarize(bare);
    results.push({
      name: "node -e 0 (bare process start, baseline)",
      unit: "ms",
      median: bs.median,
      p99: bs.p99,
      samples: RUNS,
      note: "machine load shows here first",
    });
    return results;
  } finally {
    client?.close();
    if (broker && broker.exitCode === null) {
      const exited = new Promise((r) => broker!.once("exit", r));
      broker.kill("SIGTERM");
      const t = setTimeout(() => broker!.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    }
    await rm(root, { recursive: true, force: true });
  }
}
