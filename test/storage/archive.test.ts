import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildConfArchive,
  CONF_ARCHIVE_SIZE,
  CONF_MEMBERS,
  type ConfContents,
  readConfArchive,
  readConfMember,
  updateConfMember,
  writeConfArchive,
} from "../../src/storage/archive/conf-archive.js";
import { ArchiveConflictError, ArchiveError } from "../../src/storage/archive/errors.js";
import { readTarVolume } from "../../src/storage/archive/volume.js";
import { removeDir, tempDir } from "../support/temp.js";

const run = promisify(execFile);

const CONTENTS: ConfContents = {
  version: "2.5.3",
  "fhanswers.conf": "[environment:default]\nOVEHOSTED_CORE/confirmSettings=bool:True\n",
  "hosted-engine.conf":
    "fqdn=engine.example.com\nvmid=8a0b3a4c-0d5e-4f6a-9b7c-1d2e3f4a5b6c\nhost_id=1\n",
  "broker.conf": "[email]\nsmtp-server = localhost\nsmtp-port = 25\n",
  "vm.conf":
    "vmId=8a0b3a4c-0d5e-4f6a-9b7c-1d2e3f4a5b6c\nvmName=HostedEngine\nmemSize=4096\nsmp=2\n",
};

let dir: string;
beforeAll(async () => {
  dir = await tempDir("archive");
});
afterAll(async () => {
  await removeDir(dir);
});

let n = 0;
const tmp = (name: string) => path.join(dir, `${n++}-${name}`);

/** A member directory for GNU tar to archive. */
async function memberDir(contents: ConfContents = CONTENTS): Promise<string> {
  const d = tmp("members");
  await mkdir(d);
  for (const m of CONF_MEMBERS) await writeFile(path.join(d, m), contents[m]);
  return d;
}

/** A 1 MiB "volume" holding `archive` at offset 0 followed by `tail` bytes, then zeros. */
async function volumeWith(archive: Buffer, tail: Buffer = Buffer.alloc(0)): Promise<string> {
  const v = tmp("volume");
  await writeFile(v, Buffer.concat([archive, tail]));
  await truncate(v, 1024 * 1024);
  return v;
}

describe("configuration archive: writing", () => {
  it("is exactly 20480 bytes and GNU tar lists and extracts all five members", async () => {
    const v = tmp("conf.tar");
    await writeConfArchive(v, CONTENTS);
    expect((await readFile(v)).length).toBe(CONF_ARCHIVE_SIZE);
    const { stdout } = await run("tar", ["-tvf", v]);
    const lines = stdout.trim().split("\n");
    expect(lines.map((l) => l.split(/\s+/).pop())).toEqual([...CONF_MEMBERS]);
    expect(lines[4]).toContain(`${Buffer.byteLength(CONTENTS["vm.conf"])}`);
    for (const m of CONF_MEMBERS) {
      const { stdout: body } = await run("tar", ["-xOf", v, m]);
      expect(body).toBe(CONTENTS[m]);
    }
  });

  it("matches byte for byte what the original writes (GNU tar record 20480 + Python tarfile append)", async () => {
    const out = tmp("python.tar");
    const script = [
      "import io, json, subprocess, sys, tarfile",
      "out, members = sys.argv[1], json.loads(sys.argv[2])",
      "subprocess.check_call(['tar', '--record-size=20480', '-cf', out, '-T', '/dev/null'])",
      "tar = tarfile.open(name=out, mode='a')",
      "for name, content in members:",
      "    data = content.encode()",
      "    info = tarfile.TarInfo(name=name)",
      "    info.size = len(data)",
      "    tar.addfile(tarinfo=info, fileobj=io.BytesIO(data))",
      "tar.close()",
    ].join("\n");
    const members = CONF_MEMBERS.map((m) => [m, CONTENTS[m]]);
    await run("python3", ["-c", script, out, JSON.stringify(members)]);
    const python = await readFile(out);
    expect(python.length).toBe(CONF_ARCHIVE_SIZE);
    expect(buildConfArchive(CONTENTS).equals(python)).toBe(true);
  });

  it("refuses members that do not fit in 20480 bytes, naming the sizes", () => {
    const big = { ...CONTENTS, "vm.conf": "x".repeat(17000) };
    expect(() => buildConfArchive(big, "/v/conf")).toThrow(ArchiveError);
    expect(() => buildConfArchive(big, "/v/conf")).toThrow(
      /\/v\/conf: members too large.*limit is 20480.*vm\.conf 17000/,
    );
    // the largest vm.conf that still fits: 5 headers + data blocks + 2 end blocks = 40 blocks
    const others = CONF_MEMBERS.filter((m) => m !== "vm.conf").length;
    const fits = (40 - 5 - 2 - others) * 512;
    expect(buildConfArchive({ ...CONTENTS, "vm.conf": "y".repeat(fits) }).length).toBe(
      CONF_ARCHIVE_SIZE,
    );
  });

  it("does not truncate the volume it writes into", async () => {
    const v = await volumeWith(Buffer.alloc(0), Buffer.alloc(0));
    await writeConfArchive(v, CONTENTS);
    expect((await readFile(v)).length).toBe(1024 * 1024);
  });
});

describe("configuration archive: reading", () => {
  it("reads an archive made by GNU tar (10240-byte record) followed by junk", async () => {
    const d = await memberDir();
    const made = tmp("gnu.tar");
    await run("tar", ["-cf", made, "-C", d, ...CONF_MEMBERS]);
    const gnu = await readFile(made);
    expect(gnu.length).toBe(10240);
    const v = await volumeWith(gnu, Buffer.from("junk that is not a tar header".repeat(100)));
    const archive = await readConfArchive(v);
    expect(archive.members).toEqual(CONTENTS);
    expect(archive.compressed).toBe(false);
  });

  it("reads a GNU tar archive whose names start with ./", async () => {
    const d = await memberDir();
    const made = tmp("dot.tar");
    await run("tar", ["-cf", made, "-C", d, "."]);
    expect(await readConfMember(await volumeWith(await readFile(made)), "hosted-engine.conf")).toBe(
      CONTENTS["hosted-engine.conf"],
    );
  });

  it("reads gzip archives (tar -czf) followed by zeros or by junk", async () => {
    const d = await memberDir();
    const made = tmp("gnu.tgz");
    await run("tar", ["-czf", made, "-C", d, ...CONF_MEMBERS]);
    const gz = await readFile(made);
    expect(gz[0]).toBe(0x1f);
    for (const tail of [
      Buffer.alloc(0),
      Buffer.from("\u00ffjunk after the gzip member".repeat(50)),
    ]) {
      const archive = await readConfArchive(await volumeWith(gz, tail));
      expect(archive.compressed).toBe(true);
      expect(archive.members).toEqual(CONTENTS);
    }
  });

  it("reads a gzip archive larger than the first read by reading more", async () => {
    const noise = randomBytes(90_000);
    const d = await memberDir();
    await writeFile(path.join(d, "noise.bin"), noise);
    const made = tmp("big.tgz");
    await run("tar", ["-czf", made, "-C", d, ...CONF_MEMBERS, "noise.bin"]);
    const v = await volumeWith(await readFile(made));
    const tar = await readTarVolume(v, { initialBytes: 4096 });
    expect(tar.entries.map((e) => e.name)).toEqual([...CONF_MEMBERS, "noise.bin"]);
    expect(tar.entries[5]!.data.equals(noise)).toBe(true);
    expect(tar.regionLength).toBeGreaterThan(4096);
  });

  it("reads a plain archive larger than the first read by reading more", async () => {
    const noise = randomBytes(70_000);
    const d = await memberDir();
    await writeFile(path.join(d, "noise.bin"), noise);
    const made = tmp("big.tar");
    await run("tar", ["-cf", made, "-C", d, "noise.bin", ...CONF_MEMBERS]);
    const tar = await readTarVolume(await volumeWith(await readFile(made)), { initialBytes: 2048 });
    expect(tar.entries.map((e) => e.name)).toEqual(["noise.bin", ...CONF_MEMBERS]);
    expect(tar.entries[0]!.data.equals(noise)).toBe(true);
    expect(tar.regionLength).toBeGreaterThanOrEqual(70_000 + 512 * 6);
  });

  it("extracts one member", async () => {
    const v = tmp("conf.tar");
    await writeConfArchive(v, CONTENTS);
    expect(await readConfMember(v, "broker.conf")).toBe(CONTENTS["broker.conf"]);
  });
});

describe("configuration archive: bad volumes give typed errors naming the volume", () => {
  const expectArchiveError = async (p: Promise<unknown>, volume: string, what: RegExp) => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ArchiveError);
    expect((err as Error).message).toContain(volume);
    expect((err as Error).message).toMatch(what);
  };

  it("truncated inside a member", async () => {
    const v = tmp("cut.tar");
    await writeFile(v, buildConfArchive(CONTENTS).subarray(0, 512 * 7 + 100));
    await expectArchiveError(readConfArchive(v), v, /truncated/);
  });

  it("truncated inside a header", async () => {
    const v = tmp("cut-header.tar");
    await writeFile(v, buildConfArchive(CONTENTS).subarray(0, 300));
    await expectArchiveError(readConfArchive(v), v, /truncated/);
  });

  it("corrupt header checksum", async () => {
    const bytes = buildConfArchive(CONTENTS);
    bytes[1034] = bytes[1034]! ^ 0x55; // inside the second header's name
    const v = await volumeWith(bytes);
    await expectArchiveError(readConfArchive(v), v, /corrupt.*checksum at byte 1024/);
  });

  it("junk instead of an archive", async () => {
    const v = await volumeWith(Buffer.from("this volume holds no tar at all".repeat(40)));
    await expectArchiveError(readConfArchive(v), v, /not a tar archive/);
  });

  it("a volume of zeros", async () => {
    const v = await volumeWith(Buffer.alloc(0));
    await expectArchiveError(readConfArchive(v), v, /no archive/);
  });

  it("an archive without all five members", async () => {
    const d = await memberDir();
    const made = tmp("four.tar");
    await run("tar", [
      "-cf",
      made,
      "-C",
      d,
      "version",
      "fhanswers.conf",
      "hosted-engine.conf",
      "broker.conf",
    ]);
    const v = await volumeWith(await readFile(made));
    await expectArchiveError(readConfArchive(v), v, /missing "vm\.conf"/);
  });

  it("a truncated gzip archive", async () => {
    const gz = gzipSync(buildConfArchive(CONTENTS));
    const v = tmp("cut.tgz");
    await writeFile(v, gz.subarray(0, gz.length - 20));
    await expectArchiveError(readConfArchive(v), v, /gzip data cut short/);
  });

  it("a missing volume", async () => {
    const v = path.join(dir, "does-not-exist");
    await expectArchiveError(readConfArchive(v), v, /cannot open/);
  });
});

describe("configuration archive: update with compare-and-swap (§8)", () => {
  it("replaces one member and keeps the other four", async () => {
    const v = await volumeWith(Buffer.alloc(0));
    await writeConfArchive(v, CONTENTS);
    await updateConfMember(v, "hosted-engine.conf", "fqdn=new.example.com\n");
    const after = await readConfArchive(v);
    expect(after.members["hosted-engine.conf"]).toBe("fqdn=new.example.com\n");
    for (const m of CONF_MEMBERS.filter((x) => x !== "hosted-engine.conf")) {
      expect(after.members[m]).toBe(CONTENTS[m]);
    }
    const { stdout } = await run("tar", ["-xOf", v, "hosted-engine.conf"]);
    expect(stdout).toBe("fqdn=new.example.com\n");
  });

  it("rewrites a gzip archive as the plain 20480-byte archive", async () => {
    const v = await volumeWith(gzipSync(buildConfArchive(CONTENTS)));
    await updateConfMember(v, "broker.conf", "[email]\n");
    const after = await readConfArchive(v);
    expect(after.compressed).toBe(false);
    expect(after.members["broker.conf"]).toBe("[email]\n");
    expect(after.members["vm.conf"]).toBe(CONTENTS["vm.conf"]);
  });

  it("fails with ArchiveConflictError and writes nothing when the volume changed meanwhile", async () => {
    const v = await volumeWith(Buffer.alloc(0));
    await writeConfArchive(v, CONTENTS);
    const theirs = { ...CONTENTS, "vm.conf": "vmId=x\nvmName=theirs\nmemSize=1\nsmp=1\n" };
    const err = await updateConfMember(v, "broker.conf", "[email]\nmine\n", {
      beforeWrite: () => writeConfArchive(v, theirs),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArchiveConflictError);
    expect((err as Error).message).toBe(
      `${v}: update failed: the configuration archive was changed by somebody else, try again`,
    );
    expect((await readConfArchive(v)).members).toEqual(theirs);
  });

  it("of two updates racing from the same read, the second one fails", async () => {
    const v = await volumeWith(Buffer.alloc(0));
    await writeConfArchive(v, CONTENTS);
    // the second update reads, then the first completes before the second's check
    const err = await updateConfMember(v, "vm.conf", "vmId=b\nvmName=b\nmemSize=2\nsmp=2\n", {
      beforeWrite: async () => {
        await updateConfMember(v, "vm.conf", "vmId=a\nvmName=a\nmemSize=1\nsmp=1\n");
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArchiveConflictError);
    expect(await readConfMember(v, "vm.conf")).toBe("vmId=a\nvmName=a\nmemSize=1\nsmp=1\n");
  });

  it("refuses an update that would not fit and leaves the volume as it was", async () => {
    const v = await volumeWith(Buffer.alloc(0));
    await writeConfArchive(v, CONTENTS);
    const before = await readFile(v);
    await expect(updateConfMember(v, "vm.conf", "z".repeat(30000))).rejects.toThrow(
      /members too large/,
    );
    expect((await readFile(v)).equals(before)).toBe(true);
  });
});
