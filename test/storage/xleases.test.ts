/**
 * The xleases index codec against a second implementation: Python's struct module with
 * the documented formats (test/python/xleases_index.py), and sanlock itself for the
 * resources addXlease creates.
 */
import { execFile } from "node:child_process";
import { open, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addXlease,
  findXlease,
  formatXleasesIndex,
  lookupXlease,
  NoSuchXleaseError,
  parseXleasesMetadata,
  readXleasesIndex,
  XLEASES_INDEX_OFFSET,
  XLEASES_INDEX_SIZE,
  XLEASES_MAX_RECORDS,
  XleasesIndexError,
  xleaseOffset,
} from "../../src/storage/xleases.js";
import { removeDir, tempDir } from "../support/temp.js";

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const PY = "/usr/bin/python3";
const PY_INDEX = path.join(here, "../python/xleases_index.py");
const MiB = 1024 * 1024;
const SD = "3c1e5a2b-7d4f-4e8a-9b6c-0d1e2f3a4b5c";
const VM_A = "eccb9cb6-affd-4806-8200-708370581227";
const VM_B = "50e59bbd-f829-4761-ba1b-6db1a6acc3b8";

let dir: string;

async function py(...args: string[]): Promise<string> {
  return (await run(PY, [PY_INDEX, ...args])).stdout;
}

interface PyParsed {
  magic: number;
  version: string;
  lockspace: string;
  mtime: number;
  updating: string;
  end: string;
  padding_zero: boolean;
  records: Array<{ recnum: number; resource: string; offset: number; updating: string }>;
  empty_records: number;
  max_records: number;
}

async function pyParse(file: string): Promise<PyParsed> {
  return JSON.parse(await py("parse", file)) as PyParsed;
}

/** An xleases volume formatted by the Python side. */
async function pyVolume(name: string, size = 4 * MiB): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, "");
  await truncate(file, size);
  await py("format", file, SD, "1700000000");
  return file;
}

beforeAll(async () => {
  dir = await tempDir("xleases");
});
afterAll(async () => {
  await removeDir(dir);
});

describe("xleases index read from a Python-formatted volume", () => {
  it("finds each lease at (3 + record) MiB in the domain's lockspace", async () => {
    const file = await pyVolume("py.xleases");
    // record 0 holds a prefix of VM_A: neither matches the other (the NUL padding counts)
    await py("add", file, "0", `${VM_A.slice(0, 30)}`);
    await py("add", file, "4", VM_A);
    await py("add", file, "7", VM_B);
    expect(await lookupXlease(file, VM_A)).toEqual({
      lockspace: SD,
      resource: VM_A,
      path: file,
      offset: 7 * MiB,
    });
    expect(await lookupXlease(file, VM_B)).toEqual({
      lockspace: SD,
      resource: VM_B,
      path: file,
      offset: 10 * MiB,
    });
    const index = await readXleasesIndex(file);
    expect(findXlease(index, VM_A.slice(0, 30))).toBe(0);
    expect(findXlease(index, VM_A.slice(0, 29))).toBeNull();
    expect(() => findXlease(index, "x".repeat(49))).toThrow(
      `lease id "${"x".repeat(49)}" is longer than 48 bytes`,
    );
    expect(parseXleasesMetadata(index, file)).toEqual({
      version: 1,
      lockspace: SD,
      mtime: 1700000000,
      updating: false,
    });
  });

  it("refuses a missing lease and a record left updating, naming the file and the id", async () => {
    const file = await pyVolume("py-missing.xleases");
    await py("add", file, "2", VM_B, "u");
    const missing = await lookupXlease(file, VM_A).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NoSuchXleaseError);
    expect((missing as Error).message).toBe(
      `xleases ${file}: lease ${VM_A}: no such lease in the index`,
    );
    const partial = await lookupXlease(file, VM_B).catch((e: unknown) => e);
    expect(partial).toBeInstanceOf(NoSuchXleaseError);
    expect((partial as Error).message).toContain(`lease ${VM_B}: its record 2 is marked updating`);
  });

  it("refuses an invalid index: bad magic, other version, updating flag, truncated, absent", async () => {
    const cases: Array<[string, string, string, string]> = [
      ["magic", "0x12345678", "invalid magic 0x12345678, expected 0x12152016", "bad-magic"],
      ["version", "0002", "unsupported version 2", "v2"],
      ["version", "00x1", 'invalid version "00x1"', "vx"],
      ["updating", "u", "the index is marked updating", "updating"],
    ];
    for (const [field, value, reason, name] of cases) {
      const file = await pyVolume(`${name}.xleases`);
      await py("add", file, "0", VM_A);
      await py("set-meta", file, field, value);
      const err = await lookupXlease(file, VM_A).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(XleasesIndexError);
      expect((err as Error).message, name).toContain(`xleases index of ${file}: ${reason}`);
    }
    const short = await pyVolume("short.xleases");
    await truncate(short, XLEASES_INDEX_OFFSET + 1000);
    const err = await lookupXlease(short, VM_A).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XleasesIndexError);
    expect((err as Error).message).toBe(
      `xleases index of ${short}: truncated: read 1000 of ${XLEASES_INDEX_SIZE} bytes at offset ${MiB}`,
    );
    const absent = path.join(dir, "absent.xleases");
    const gone = await lookupXlease(absent, VM_A).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(XleasesIndexError);
    expect((gone as Error).message).toContain(`xleases index of ${absent}: cannot open: ENOENT`);
  });
});

describe("xleases index written by us, read by Python struct", () => {
  it("formatXleasesIndex: magic, version 0001, lockspace, mtime, 3960 empty records", async () => {
    const file = path.join(dir, "ours.xleases");
    const fh = await open(file, "w");
    await fh.write(formatXleasesIndex(SD, 1234567890), 0, XLEASES_INDEX_SIZE, XLEASES_INDEX_OFFSET);
    await fh.close();
    const parsed = await pyParse(file);
    expect(parsed).toEqual({
      magic: 0x12152016,
      version: "0001",
      lockspace: SD,
      mtime: 1234567890,
      updating: "-",
      end: "\n",
      padding_zero: true,
      records: [],
      empty_records: 3960,
      max_records: 3960,
    });
    expect(XLEASES_MAX_RECORDS).toBe(parsed.max_records);
  });

  it("addXlease: sanlock finds the resource at the record's slot, Python finds the record", async () => {
    const file = await pyVolume("add.xleases", 0);
    const a = await addXlease(file, VM_A);
    const b = await addXlease(file, VM_B);
    expect(a).toEqual({ lockspace: SD, resource: VM_A, path: file, offset: xleaseOffset(0) });
    expect(b.offset).toBe(4 * MiB);
    const parsed = await pyParse(file);
    expect(parsed.records).toEqual([
      { recnum: 0, resource: VM_A, offset: 3 * MiB, updating: "-", reserved: "-", term: "\n" },
      { recnum: 1, resource: VM_B, offset: 4 * MiB, updating: "-", reserved: "-", term: "\n" },
    ]);
    expect(parsed.empty_records).toBe(3958);
    for (const [vm, offset] of [
      [VM_A, 3 * MiB],
      [VM_B, 4 * MiB],
    ] as const) {
      const { stdout } = await run("sanlock", [
        "direct",
        "read_leader",
        "-r",
        `${SD}:${vm}:${file}:${offset}`,
      ]);
      expect(stdout).toMatch(new RegExp(`^space_name ${SD}$`, "m"));
      expect(stdout).toMatch(new RegExp(`^resource_name ${vm}$`, "m"));
    }
    const again = await addXlease(file, VM_A).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(XleasesIndexError);
    expect((again as Error).message).toBe(
      `xleases index of ${file}: lease ${VM_A} exists (record 0)`,
    );
  });
});
