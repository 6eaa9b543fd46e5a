import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { productArgs } from "../../lab/children.js";
import type { MetadataDump } from "../../src/cli/commands/metadata-dump.js";
import { encodeGlobalBlock, encodeHostBlock } from "../../src/storage/whiteboard/index.js";
import { removeDir, tempDir } from "../support/temp.js";
import { segmentFromFields, specExampleInput } from "./whiteboard-blocks.js";

const run = promisify(execFile);
const SEG = 4096;

let dir: string;
let volume: string;

/** Runs the built `he-ha` with HE_HA_ROOT=dir; resolves with exit code and output. */
async function heHa(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, productArgs("he-ha", ...args), {
      env: { ...process.env, HE_HA_ROOT: dir, HE_HA_LOG_LEVEL: "silent" },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

beforeAll(async () => {
  dir = await tempDir("metadata-dump");
  // hosted-engine.conf pointing at a metadata volume in an NFS-style domain under dir
  const sd = "5f4c3b2a-0000-4000-8000-000000000001";
  const img = "11111111-2222-4333-8444-555555555555";
  const vol = "66666666-7777-4888-9999-000000000000";
  const confDir = path.join(dir, "etc/ovirt-hosted-engine");
  await mkdir(confDir, { recursive: true });
  await writeFile(
    path.join(confDir, "hosted-engine.conf"),
    [
      "host_id=1",
      "domainType=nfs",
      "storage=nfs.example.com:/exports/he",
      `sdUUID=${sd}`,
      `metadata_image_UUID=${img}`,
      `metadata_volume_UUID=${vol}`,
      "",
    ].join("\n"),
  );
  const imgDir = path.join(
    dir,
    "rhev/data-center/mnt/nfs.example.com:_exports_he",
    sd,
    "images",
    img,
  );
  await mkdir(imgDir, { recursive: true });
  volume = path.join(imgDir, vol);

  const wb = Buffer.alloc(2001 * SEG);
  encodeGlobalBlock({ maintenance: true, unknown: { future_flag: "7" } }).copy(wb, 0);
  encodeHostBlock(specExampleInput({ hostId: 1, hostname: "host1.example.com", score: 3400 })).copy(
    wb,
    SEG,
  );
  encodeHostBlock(
    specExampleInput({ hostId: 2, hostname: "host2.example.com", score: 0, maintenance: true }),
  ).copy(wb, 2 * SEG);
  const broken = encodeHostBlock(specExampleInput({ hostId: 3 }));
  broken[12] = 0x39;
  broken.copy(wb, 3 * SEG);
  segmentFromFields(["1", "1", "5", "9", "1", "{}", "host9"]).copy(wb, 4 * SEG);
  await writeFile(volume, wb);
}, 180_000);

afterAll(async () => {
  await removeDir(dir);
});

describe("he-ha metadata dump", () => {
  it("prints one JSON document with the global block, every host and every error (--file)", async () => {
    const r = await heHa(["metadata", "dump", "--json", "--file", volume]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout) as MetadataDump;
    expect(d.path).toBe(volume);
    expect(d.directIo).toBe(true);
    expect(d.bytes).toBe(2001 * SEG);
    expect(d.global).toEqual({ maintenance: true, unknown: { future_flag: "7" } });
    expect(d.globalWarnings).toEqual(["unknown global metadata key: future_flag"]);
    expect(Object.keys(d.hosts)).toEqual(["1", "2"]);
    expect(d.hosts["1"]).toMatchObject({
      hostname: "host1.example.com",
      score: 3400,
      maintenance: false,
    });
    expect(d.hosts["2"]).toMatchObject({
      hostname: "host2.example.com",
      score: 0,
      maintenance: true,
    });
    expect(d.hosts["2"]!.extra.state).toBe("EngineUp");
    expect(d.errors.map((e) => [e.hostId, e.kind])).toEqual([
      [3, "bad-crc"],
      [4, "id-mismatch"],
    ]);
  });

  it("finds the volume through hosted-engine.conf and prints text", async () => {
    const r = await heHa(["metadata", "dump"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`metadata volume ${volume}`);
    expect(r.stdout).toContain("global block:\n  maintenance=True\n  future_flag=7");
    expect(r.stdout).toContain("host 1: host1.example.com\n  score=3400");
    expect(r.stdout).toContain("host 2: host2.example.com");
    expect(r.stdout).toMatch(/host 3: ERROR bad-crc: provided checksum [0-9a-f]{8} does not match/);
    expect(r.stdout).toContain("host 4: ERROR id-mismatch");
    expect(r.stdout).toContain("    state=EngineUp");
  });

  it("fails with exit 1 naming the file when the volume does not exist", async () => {
    const missing = path.join(dir, "no-such-volume");
    const r = await heHa(["metadata", "dump", "--file", missing]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(missing);
    expect(r.stderr).toContain("ENOENT");
  });
});
