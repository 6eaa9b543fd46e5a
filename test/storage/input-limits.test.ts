/**
 * Bounded inputs from shared storage: gzip bombs, oversized members and OVFs are refused
 * at their limits (src/storage/archive/limits.ts) with an error naming the volume and the
 * limit, a corrupt gzip trailer is refused, and the agent keeps its last good vm.conf
 * and logs each new problem once.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { productArgs } from "../../lab/children.js";
import { ConfigRefresher } from "../../src/agent/config-refresh.js";
import { hostConfigFrom } from "../../src/common/host-config.js";
import { parseKeyValue } from "../../src/common/keyvalue.js";
import { haPaths } from "../../src/common/paths.js";
import { buildConfArchive, readConfArchive } from "../../src/storage/archive/conf-archive.js";
import { ArchiveError } from "../../src/storage/archive/errors.js";
import { INPUT_LIMITS } from "../../src/storage/archive/limits.js";
import { buildTar } from "../../src/storage/archive/tar.js";
import { writeAtStart } from "../../src/storage/archive/volume.js";
import { initStorageDomain } from "../../src/storage/init.js";
import { OvfError } from "../../src/storage/ovf/errors.js";
import { ovfToVmConfOffThread } from "../../src/storage/ovf/off-thread.js";
import { ovfToVmConf } from "../../src/storage/ovf/ovf-to-vmconf.js";
import { readOvfFromStore } from "../../src/storage/ovf/store.js";
import { OVF_TEST } from "../fixtures/ovf-fixtures.js";
import { removeDir, tempDir } from "../support/temp.js";

const run = promisify(execFile);

let dir: string;
let ovf: string;
/** gzip of 64 MiB of zeros: 64 kB that expand 1000-fold, past every limit */
let bomb: Buffer;

beforeAll(async () => {
  dir = await tempDir("limits");
  ovf = await readFile(OVF_TEST, "utf8");
  bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
});
afterAll(() => removeDir(dir));

async function volumeWith(name: string, data: Buffer): Promise<string> {
  const v = path.join(dir, name);
  await writeFile(v, Buffer.concat([data, Buffer.alloc(64 * 1024)]));
  return v;
}

describe("configuration archive and OVF_STORE limits", () => {
  it("a gzip bomb in the configuration volume is refused at 1 MiB, naming the volume", async () => {
    const v = await volumeWith("bomb-conf", bomb);
    const e = await readConfArchive(v).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ArchiveError);
    expect((e as Error).message).toBe(`${v}: gzip data expands past the limit of 1.0 MiB`);
  });

  it("a gzip bomb in an OVF_STORE volume is refused at 32 MiB", async () => {
    const v = await volumeWith("bomb-ovf", bomb);
    await expect(readOvfFromStore(v, "vm")).rejects.toThrow(
      `${v}: gzip data expands past the limit of 32.0 MiB`,
    );
  });

  it("a gzip archive whose CRC32 does not match its data is refused", async () => {
    const gz = gzipSync(
      buildConfArchive({
        version: "2.5.3",
        "fhanswers.conf": "",
        "hosted-engine.conf": "host_id=1\n",
        "broker.conf": "",
        "vm.conf": "vmId=x\n",
      }),
    );
    // the trailer: CRC32 then length, little-endian; flip one bit of the CRC
    gz[gz.length - 8]! ^= 0x01;
    const v = await volumeWith("bad-crc.tgz", gz);
    await expect(readConfArchive(v)).rejects.toThrow(/no matching CRC32\/length trailer/);
  });

  it("an OVF_STORE member over 8 MiB is refused by its header, before its data is used", async () => {
    const big = buildTar([{ name: "vm.ovf", data: Buffer.alloc(INPUT_LIMITS.member + 1, 0x20) }]);
    const v = await volumeWith("big-member", big);
    await expect(readOvfFromStore(v, "vm")).rejects.toThrow(
      `member at byte 0 is ${INPUT_LIMITS.member + 1} bytes, more than the limit of ${INPUT_LIMITS.member}`,
    );
  });
});

describe("OVF limits and conversion off the event loop", () => {
  it("converts in a worker exactly as in-process", async () => {
    expect(await ovfToVmConfOffThread(ovf)).toBe(ovfToVmConf(ovf));
  });

  it("an element with 2 MiB of text is refused before parsing, naming its offset", async () => {
    const at = ovf.indexOf("</Description>");
    const bad = `${ovf.slice(0, at)}${"x".repeat(2 * 1024 * 1024)}${ovf.slice(at)}`;
    const e = await ovfToVmConfOffThread(bad).catch((x: unknown) => x);
    expect((e as Error).name).toBe("OvfError");
    expect((e as Error).message).toMatch(
      /^OVF element: \d+ characters without markup from offset \d+, more than the limit of 1048576$/,
    );
  });

  it("an OVF over 8 MiB is refused", () => {
    const big = `${ovf}${"<a/>".repeat(INPUT_LIMITS.ovf / 4)}`;
    expect(() => ovfToVmConf(big)).toThrow(OvfError);
    expect(() => ovfToVmConf(big)).toThrow(/more than the limit of 8388608/);
  });

  it("he-ha ovf to-vmconf refuses a 200 MB file by its size, exit 1", async () => {
    const f = path.join(dir, "huge.ovf");
    await writeFile(f, "");
    await truncate(f, 200 * 1024 * 1024);
    const r = await run(process.execPath, productArgs("he-ha", "ovf", "to-vmconf", f)).then(
      () => ({ code: 0, stderr: "" }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `he-ha: ${f}: cannot read: 209715200 bytes, more than the limit of 8388608 for an OVF\n`,
    );
  });
});

describe("the agent under a bomb", () => {
  it("keeps the last good vm.conf and logs each new problem once", async () => {
    const root = await mkdtemp(path.join(dir, "agent-"));
    const init = await initStorageDomain({
      domain: path.join(root, "domain"),
      hostConf: "host_id=1\nfqdn=engine.example.com\nstorage=nfs:/he\n",
      ioTimeout: 1,
      ovf,
    });
    const lines: Array<{ msg: string } & Record<string, unknown>> = [];
    const log = pino(
      { level: "info" },
      new Writable({
        write(chunk, _enc, cb) {
          lines.push(JSON.parse(String(chunk)));
          cb();
        },
      }),
    );
    const paths = haPaths(root);
    const refresher = new ConfigRefresher({
      conf: hostConfigFrom(
        new Map([...parseKeyValue("host_id=1\n"), ...init.confLines]),
        "hosted-engine.conf",
      ),
      paths,
      volumes: { domain: path.join(root, "domain"), conf: init.volumes.conf.path },
      log,
      clock: () => 100,
    });
    const good = await refresher.refresh();
    expect(good.vmConfSource).toBe("ovf");
    const goodFile = await readFile(paths.vmConf, "utf8");

    await writeAtStart(init.volumes.conf.path, bomb);
    await writeAtStart(init.volumes.ovfStore!.path, bomb);
    for (let i = 0; i < 3; i++) {
      const s = await refresher.refresh();
      expect(s.vmConfText).toBe(good.vmConfText);
    }
    expect(await readFile(paths.vmConf, "utf8")).toBe(goodFile);
    const archiveLines = lines.filter((l) =>
      l.msg.startsWith("cannot read the configuration archive"),
    );
    const ovfLines = lines.filter((l) => l.msg.startsWith("cannot get vm.conf from the OVF_STORE"));
    // one line, naming the volume and the limit (the error object carries the why)
    expect(archiveLines).toEqual([
      expect.objectContaining({
        msg: "cannot read the configuration archive: keeping the last good configuration",
        volume: init.volumes.conf.path,
        err: expect.objectContaining({
          message: `${init.volumes.conf.path}: gzip data expands past the limit of 1.0 MiB`,
        }),
      }),
    ]);
    expect(ovfLines).toHaveLength(1);
    expect(ovfLines[0]!.msg).toContain("gzip data expands past the limit of 32.0 MiB");
  });
});
