import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createGzip, gzipSync } from "node:zlib";
import { packageRoot } from "../src/common/package-root.js";
import {
  buildConfArchive,
  type ConfContents,
  readConfArchive,
} from "../src/storage/archive/conf-archive.js";
import { ovfToVmConfOffThread } from "../src/storage/ovf/off-thread.js";
import { ovfToVmConf } from "../src/storage/ovf/ovf-to-vmconf.js";
import { readOvfFromStore } from "../src/storage/ovf/store.js";
import { parseVmConf } from "../src/storage/ovf/vmconf.js";
import { type BenchResult, summarize } from "./types.js";

async function fixture(name: string): Promise<string> {
  return await readFile(path.join(packageRoot(), "test", "fixtures", "ovf", name), "utf8");
}

async function timeMs(samples: number, fn: () => Promise<unknown> | unknown): Promise<number[]> {
  for (let i = 0; i < 5; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out;
}

function result(name: string, samples: number[], note: string): BenchResult {
  const { median, p99 } = summarize(samples);
  return { name, unit: "ms", median, p99, samples: samples.length, note };
}

/** gzip of `gib` GiB of zeros, streamed (about 1 MB per GiB at level 9). */
async function gzipBomb(gib: number): Promise<Buffer> {
  const gz = createGzip({ level: 9 });
  const parts: Buffer[] = [];
  gz.on("data", (c: Buffer) => parts.push(c));
  const done = new Promise((r) => gz.on("end", r));
  const mib = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < gib * 1024; i++) {
    if (!gz.write(mib)) await new Promise((r) => gz.once("drain", r));
  }
  gz.end();
  await done;
  return Buffer.concat(parts);
}

/** kB from a /proc/self/status line */
async function statusKb(field: string): Promise<number> {
  const text = await readFile("/proc/self/status", "utf8");
  return Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? Number.NaN);
}

/**
 * Time to refuse `fn` (it must throw) and the extra peak RSS it cost, in MiB: the peak
 * (VmHWM) is reset through /proc/self/clear_refs first.
 */
async function refusal(fn: () => Promise<unknown>): Promise<{ ms: number; extraMiB: number }> {
  await writeFile("/proc/self/clear_refs", "5");
  const before = await statusKb("VmRSS");
  const t = process.hrtime.bigint();
  const refused = await fn().then(
    () => false,
    () => true,
  );
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (!refused) throw new Error("the bomb was accepted");
  return { ms, extraMiB: ((await statusKb("VmHWM")) - before) / 1024 };
}

/** Configuration archive read (plain, gzip) from a 64 MiB sparse volume; OVF → vm.conf. */
export async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "he-ha-bench-archive-"));
  try {
    const ovf42 = await fixture("ovf_test_v4.2.xml");
    const ovf = await fixture("ovf_test.xml");
    const contents: ConfContents = {
      version: "2.5.3",
      "fhanswers.conf": "[environment:default]\nOVEHOSTED_CORE/confirmSettings=bool:True\n",
      "hosted-engine.conf": "fqdn=engine.example.com\nhost_id=1\n".repeat(20),
      "broker.conf": "[email]\nsmtp-server = localhost\nsmtp-port = 25\n",
      "vm.conf": ovfToVmConf(ovf42),
    };
    const plain = buildConfArchive(contents);
    const plainVol = path.join(dir, "plain");
    const gzipVol = path.join(dir, "gzip");
    await writeFile(plainVol, plain);
    await writeFile(gzipVol, gzipSync(plain));
    for (const v of [plainVol, gzipVol]) await truncate(v, 64 * 1024 * 1024);
    const n = 300;
    // a 2 MB gzip bomb (2 GiB of zeros) as the configuration volume and as an OVF_STORE
    const bomb = await gzipBomb(2);
    const bombVol = path.join(dir, "bomb");
    await writeFile(bombVol, bomb);
    const confBomb = await refusal(() => readConfArchive(bombVol));
    const storeBomb = await refusal(() => readOvfFromStore(bombVol, "vm"));
    const bombNote = `gzip of 2 GiB of zeros, ${(bomb.length / 1e6).toFixed(1)} MB; extra peak RSS`;
    const offThread = await timeMs(50, () => ovfToVmConfOffThread(ovf42));
    return [
      {
        name: "2 MB gzip bomb as configuration volume: refused in",
        unit: "ms",
        median: confBomb.ms,
        samples: 1,
        target: "< 1000 ms",
        note: `${bombNote} ${confBomb.extraMiB.toFixed(1)} MiB (limit 1 MiB)`,
      },
      {
        name: "2 MB gzip bomb as OVF_STORE: refused in",
        unit: "ms",
        median: storeBomb.ms,
        samples: 1,
        target: "< 1000 ms",
        note: `${bombNote} ${storeBomb.extraMiB.toFixed(1)} MiB (limit 32 MiB)`,
      },
      {
        name: "2 MB gzip bomb: extra peak RSS (configuration / OVF_STORE)",
        unit: "MiB",
        median: Math.max(confBomb.extraMiB, storeBomb.extraMiB),
        samples: 2,
        target: "< 100 MiB",
        note: `${confBomb.extraMiB.toFixed(1)} / ${storeBomb.extraMiB.toFixed(1)} MiB`,
      },
      result(
        "OVF → vm.conf in a worker thread (ovf_test_v4.2)",
        offThread,
        "what the agent and he-ha ovf to-vmconf run (worker start included)",
      ),
      result(
        "archive read+validate (plain, 20480 B)",
        await timeMs(n, () => readConfArchive(plainVol)),
        "readConfArchive on a 64 MiB volume",
      ),
      result(
        "archive read+validate (gzip)",
        await timeMs(n, () => readConfArchive(gzipVol)),
        `gzip ${gzipSync(plain).length} B`,
      ),
      result(
        "OVF → vm.conf (ovf_test_v4.2, EngineXml)",
        await timeMs(n, () => ovfToVmConf(ovf42)),
        "16 KB OVF incl. xmlBase64",
      ),
      result("OVF → vm.conf (ovf_test)", await timeMs(n, () => ovfToVmConf(ovf)), "13 KB OVF"),
      result(
        "parseVmConf (4.2 vm.conf)",
        await timeMs(n, () => parseVmConf(contents["vm.conf"])),
        "10 devices",
      ),
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
