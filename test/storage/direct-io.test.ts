import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import koffi from "koffi";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scriptArgs } from "../../lab/children.js";
import {
  alignedBuffer,
  isDirectIoSupported,
  MetadataIoError,
  MetadataVolume,
} from "../../src/storage/direct-io.js";
import { removeDir, tempDir } from "../support/temp.js";

const run = promisify(execFile);
const SEG = 4096;
const SEGMENTS = 2001;
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

let dir: string;
beforeAll(async () => {
  dir = await tempDir("direct-io");
});
afterAll(async () => {
  await removeDir(dir);
});

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
}

describe("alignedBuffer", () => {
  it("starts every buffer on a 4096-byte boundary in memory", () => {
    for (const size of [512, 4096, 4097, 10_000, SEG * SEGMENTS]) {
      const b = alignedBuffer(size);
      expect(b.length).toBe(size);
      expect(Number((koffi.address(b) as bigint) % 4096n), `size ${size}`).toBe(0);
    }
  });
});

describe("MetadataVolume on ext4", () => {
  it("uses O_DIRECT on this filesystem", async () => {
    const file = path.join(dir, "probe.metadata");
    await writeFile(file, Buffer.alloc(SEG));
    expect(await isDirectIoSupported(file)).toBe(true);
    const v = await MetadataVolume.open(file);
    expect(v.directIo).toBe(true);
    await v.close();
  });

  it("writes one segment without changing any byte of its neighbours", async () => {
    const file = path.join(dir, "neighbours.metadata");
    const before = randomBytes(SEG * SEGMENTS);
    await writeFile(file, before);
    const v = await MetadataVolume.open(file);
    try {
      const mine = randomBytes(SEG);
      await v.writeSegment(2, mine);
      const after = await readFile(file);
      expect(after.length).toBe(before.length);
      expect(after.subarray(2 * SEG, 3 * SEG).equals(mine)).toBe(true);
      expect(after.subarray(0, 2 * SEG).equals(before.subarray(0, 2 * SEG))).toBe(true);
      expect(after.subarray(3 * SEG).equals(before.subarray(3 * SEG))).toBe(true);
      // and the volume reads back exactly what is on disk
      expect((await v.readAll()).equals(after)).toBe(true);
      expect((await v.readSegment(2)).equals(mine)).toBe(true);
      expect((await v.readSegment(1)).equals(before.subarray(SEG, 2 * SEG))).toBe(true);
    } finally {
      await v.close();
    }
  });

  it("lands every one of many concurrent segment writes (serialised per volume)", async () => {
    const file = path.join(dir, "concurrent.metadata");
    await writeFile(file, Buffer.alloc(SEG * SEGMENTS));
    const v = await MetadataVolume.open(file);
    try {
      const ids = Array.from({ length: 64 }, (_, i) => 1 + i * 31);
      await Promise.all(ids.map((id) => v.writeSegment(id, Buffer.alloc(SEG, id % 251))));
      const all = await v.readAll();
      for (const id of ids) {
        const seg = all.subarray(id * SEG, (id + 1) * SEG);
        expect(
          seg.every((b) => b === id % 251),
          `segment ${id}`,
        ).toBe(true);
      }
      expect(all.subarray(2 * SEG, 3 * SEG).every((b) => b === 0)).toBe(true);
    } finally {
      await v.close();
    }
  });

  it("reads 2001 segments from a bigger file and the whole file when it is smaller", async () => {
    const big = path.join(dir, "big.metadata");
    await writeFile(big, Buffer.alloc(SEG * 2100, 1));
    const vb = await MetadataVolume.open(big, { readOnly: true });
    expect((await vb.readAll()).length).toBe(SEG * SEGMENTS);
    await vb.close();

    const small = path.join(dir, "small.metadata");
    const content = randomBytes(5 * SEG + 100);
    await writeFile(small, content);
    const vs = await MetadataVolume.open(small, { readOnly: true });
    try {
      expect((await vs.readAll()).equals(content)).toBe(true);
      expect((await vs.readSegment(5)).equals(content.subarray(5 * SEG))).toBe(true);
      expect((await vs.readSegment(2000)).length).toBe(0);
    } finally {
      await vs.close();
    }
  });

  it("rejects bad writes with a MetadataIoError naming file and segment", async () => {
    const file = path.join(dir, "errors.metadata");
    await writeFile(file, Buffer.alloc(SEG * 4));
    const v = await MetadataVolume.open(file);
    await expect(v.writeSegment(1, Buffer.alloc(100))).rejects.toThrow(
      /errors\.metadata: write of segment 1 failed/,
    );
    await expect(v.writeSegment(2001, Buffer.alloc(SEG))).rejects.toBeInstanceOf(MetadataIoError);
    await expect(v.readSegment(-1)).rejects.toBeInstanceOf(MetadataIoError);
    await v.close();
    const ro = await MetadataVolume.open(file, { readOnly: true });
    await expect(ro.writeSegment(1, Buffer.alloc(SEG))).rejects.toThrow(/read-only/);
    await ro.close();
    await expect(MetadataVolume.open(path.join(dir, "missing"))).rejects.toThrow(
      /missing: open failed: ENOENT/,
    );
    expect((await readFile(file)).every((b) => b === 0)).toBe(true);
  });

  it("opens the volume with O_DIRECT|O_SYNC, as strace shows", async () => {
    const file = path.join(dir, "strace.metadata");
    await writeFile(file, Buffer.alloc(SEG * SEGMENTS));
    const script = path.join(dir, "strace-child.mts");
    await writeFile(
      script,
      [
        `import { MetadataVolume } from ${JSON.stringify(path.join(repo, "src/storage/direct-io.ts"))};`,
        "const v = await MetadataVolume.open(process.argv[2]);",
        "await v.writeSegment(3, Buffer.alloc(4096, 0x33));",
        "const all = await v.readAll();",
        "await v.close();",
        "console.log(JSON.stringify({ direct: v.directIo, n: all.length, b: all[3 * 4096] }));",
      ].join("\n"),
    );
    const log = path.join(dir, "strace.log");
    const { stdout } = await run(
      "strace",
      ["-f", "-e", "trace=openat", "-o", log, process.execPath, ...scriptArgs(script, file)],
      { cwd: repo },
    );
    expect(JSON.parse(stdout.trim().split("\n").pop()!)).toEqual({
      direct: true,
      n: SEG * SEGMENTS,
      b: 0x33,
    });
    const opens = (await readFile(log, "utf8"))
      .split("\n")
      .filter((l) => l.includes(JSON.stringify(file)));
    expect(opens.length).toBeGreaterThan(0);
    for (const l of opens) {
      expect(l).toMatch(/O_RDWR/);
      expect(l).toMatch(/O_DIRECT/);
      expect(l).toMatch(/O_SYNC/);
    }
  });
});

describe("MetadataVolume where O_DIRECT is refused (ramfs)", () => {
  let mnt: string;
  beforeAll(async () => {
    mnt = path.join(dir, "ramfs");
    await mkdir(mnt);
    await run("mount", ["-t", "ramfs", "-o", "size=64m", "he-ha-test", mnt]);
  });
  afterAll(async () => {
    await run("umount", [mnt]).catch(() => undefined);
  });

  it("falls back to buffered O_SYNC I/O, logs it once, and still reads and writes", async () => {
    const file = path.join(mnt, "volume.metadata");
    const before = randomBytes(SEG * 8);
    await writeFile(file, before);
    expect(await isDirectIoSupported(file)).toBe(false);
    const { logger, lines } = capturingLogger();
    const v = await MetadataVolume.open(file, { logger });
    expect(v.directIo).toBe(false);
    const mine = randomBytes(SEG);
    await v.writeSegment(2, mine);
    const all = await v.readAll();
    expect(all.subarray(2 * SEG, 3 * SEG).equals(mine)).toBe(true);
    expect(all.subarray(0, 2 * SEG).equals(before.subarray(0, 2 * SEG))).toBe(true);
    expect(all.subarray(3 * SEG).equals(before.subarray(3 * SEG))).toBe(true);
    await v.close();
    const again = await MetadataVolume.open(file, { logger });
    await again.readAll();
    await again.close();
    const warnings = lines.filter((l) => String(l.msg).includes("O_DIRECT"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, path: file });
  });
});
