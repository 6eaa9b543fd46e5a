import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { fixtureOvf } from "../src/demo/bin-path.js";
import {
  buildConfArchive,
  type ConfContents,
  readConfArchive,
} from "../src/storage/archive/conf-archive.js";
import { ovfToVmConf } from "../src/storage/ovf/ovf-to-vmconf.js";
import { parseVmConf } from "../src/storage/ovf/vmconf.js";
import { type BenchResult, summarize } from "./types.js";

async function fixture(name: string): Promise<string> {
  return await readFile(fixtureOvf(name), "utf8");
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
    return [
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
