import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { packageRoot } from "../src/common/package-root.js";
import { MetadataVolume } from "../src/storage/direct-io.js";
import {
  decodeWhiteboard,
  encodeGlobalBlock,
  encodeHostBlock,
  MAX_HOST_ID,
  SEGMENT_COUNT,
  SEGMENT_SIZE,
} from "../src/storage/whiteboard/index.js";
import { type BenchResult, summarize } from "./types.js";

/** A whiteboard with the global block and all 2000 host segments populated. */
function fullWhiteboard(): Buffer {
  const wb = Buffer.alloc(SEGMENT_COUNT * SEGMENT_SIZE);
  encodeGlobalBlock({ maintenance: false, unknown: {} }).copy(wb, 0);
  for (let id = 1; id <= MAX_HOST_ID; id++) {
    encodeHostBlock({
      timestamp: 100_000 + id,
      hostId: id,
      score: id % 2 === 0 ? 3400 : 1800,
      engineStatus:
        id === 1
          ? { vm: "up", health: "good", detail: "Up" }
          : { vm: "down", health: "bad", detail: "unknown", reason: "vm not running on this host" },
      hostname: `host-${id}.lab.example.com`,
      maintenance: false,
      stopped: false,
      confOnSharedStorage: true,
      vmConfRefreshTime: 99_000,
      timeEpoch: 1_763_000_000,
      vmConfRefreshTimeEpoch: 1_763_000_000,
      stateExtra: {
        maintenance: "False",
        state: id === 1 ? "EngineUp" : "EngineDown",
        stopped: "False",
      },
    }).copy(wb, id * SEGMENT_SIZE);
  }
  return wb;
}

/** Wall-clock ms per call, and the process's CPU ms per call (robust on a busy machine). */
async function sample(n: number, warmup: number, fn: () => Promise<void> | void): Promise<Samples> {
  for (let i = 0; i < warmup; i++) await fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall, cpu };
}

function result(
  name: string,
  unit: string,
  samples: number[],
  extra: Partial<BenchResult> = {},
): BenchResult {
  return { name, unit, samples: samples.length, ...summarize(samples), ...extra };
}

const ORIGINAL_RUNS = 50;

type Samples = { wall: number[]; cpu: number[] };

/**
 * The original's read + decode of the same file (bench/original-whiteboard.py: its own
 * metadata.py parse functions, from the checkout $HE_HA_UPSTREAM/ovirt-hosted-engine-ha,
 * default /work/upstream as for the tests: test/support/upstream.ts), or why it was not run.
 */
async function originalReadDecode(file: string): Promise<Samples | string> {
  const upstream = process.env.HE_HA_UPSTREAM ?? "/work/upstream";
  const src = path.join(upstream, "ovirt-hosted-engine-ha");
  if (!existsSync(path.join(src, "ovirt_hosted_engine_ha/lib/metadata.py")))
    return `no ovirt-hosted-engine-ha checkout at ${src} (set HE_HA_UPSTREAM to a directory holding one)`;
  const script = path.join(packageRoot(), "bench", "original-whiteboard.py");
  const { stdout } = await promisify(execFile)(
    "python3",
    [script, file, String(ORIGINAL_RUNS), "5"],
    { env: { ...process.env, PYTHONPATH: src }, maxBuffer: 1 << 20 },
  );
  const r = JSON.parse(stdout) as Samples & { hosts: number };
  if (r.hosts !== MAX_HOST_ID)
    throw new Error(`the original decoded ${r.hosts} hosts, expected ${MAX_HOST_ID}`);
  return r;
}

/** The original's figures beside ours, and the ratios (medians over medians). */
function originalRows(original: Samples | string, ours: Samples, load: string): BenchResult[] {
  const name = "original (Python) read + decode, 2000 hosts";
  if (typeof original === "string")
    return [{ name, unit: "ms", median: Number.NaN, samples: 0, note: `not run: ${original}` }];
  const how = "its metadata.py parse functions on the same file, read as its get_raw_stats()";
  const ratio = (a: number[], b: number[]) => summarize(a).median / summarize(b).median;
  return [
    result(name, "ms", original.wall, { note: `${how}; ${load}` }),
    result(`${name} (CPU time)`, "ms", original.cpu, { note: how }),
    {
      name: "read + decode: original ÷ ours (wall)",
      unit: "×",
      median: ratio(original.wall, ours.wall),
      samples: 1,
      target: "≥ 5",
      note: `medians, measured side by side; ${load}`,
    },
    {
      name: "read + decode: original ÷ ours (CPU time)",
      unit: "×",
      median: ratio(original.cpu, ours.cpu),
      samples: 1,
      target: "≥ 5",
      note: "medians of process CPU time per read + decode (robust on a busy machine)",
    },
  ];
}

/**
 * Whiteboard I/O on ext4 (/var/tmp): full read + decode of 2000 populated hosts through
 * O_DIRECT, decode alone, and one segment write with O_DIRECT + O_SYNC.
 */
export async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(path.join("/var/tmp", "he-ha-bench-whiteboard-"));
  try {
    const file = path.join(dir, "hosted-engine.metadata");
    const wb = fullWhiteboard();
    await writeFile(file, wb);
    const volume = await MetadataVolume.open(file);
    const io = volume.directIo ? "O_DIRECT" : "buffered (no O_DIRECT here)";
    try {
      let hosts = 0;
      const full = await sample(200, 20, async () => {
        hosts = decodeWhiteboard(await volume.readAll()).hosts.size;
      });
      if (hosts !== MAX_HOST_ID) throw new Error(`decoded ${hosts} hosts, expected ${MAX_HOST_ID}`);
      const readOnly = await sample(200, 10, async () => {
        await volume.readAll();
      });
      const decodeOnly = await sample(300, 30, () => {
        decodeWhiteboard(wb);
      });
      const block = wb.subarray(SEGMENT_SIZE, 2 * SEGMENT_SIZE);
      const writes = await sample(200, 10, () => volume.writeSegment(1, block));
      const load = `load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs`;
      const original = await originalReadDecode(file);
      return [
        result("whiteboard read + decode, 2000 hosts", "ms", full.wall, {
          target: "median < 20 ms",
          note: `${io}; ${load}`,
        }),
        result("whiteboard read + decode, 2000 hosts (CPU time)", "ms", full.cpu, { note: io }),
        ...originalRows(original, full, load),
        result("whiteboard read only (2001 segments, 8 MB)", "ms", readOnly.wall, { note: io }),
        result("whiteboard decode only, 2000 hosts", "ms", decodeOnly.wall),
        result("whiteboard decode only, 2000 hosts (CPU time)", "ms", decodeOnly.cpu),
        result("single segment write", "ms", writes.wall, {
          note: volume.directIo ? "O_DIRECT | O_SYNC" : "O_SYNC (no O_DIRECT here)",
        }),
      ];
    } finally {
      await volume.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
