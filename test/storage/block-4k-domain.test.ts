/**
 * A 4K block-style storage domain laid out by `he-ha storage init` on loop devices with
 * 4096-byte sectors (`losetup --sector-size 4096`), standing in for the LVs of a block
 * domain: this machine has no device-mapper (no LVM, no multipath), so the `ids`,
 * `leases`, `xleases` and HA volumes are loop devices linked into the domain, as VDSM
 * links `/dev/<sd>/<lv>`. Checked by things we did not write: python3-sanlock reads the
 * leases back with `sector=4096`, a real sanlock daemon joins the lockspaces, `dd
 * iflag=direct` reads the whiteboard the broker wrote with O_DIRECT, and the kernel
 * refuses a 512-byte O_DIRECT write to the same device (so the broker never made one).
 * A device of another sector size is refused by name, and nothing is written to it.
 */
import { constants } from "node:fs";
import { mkdir, open, readdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attachLoop, detachAll, type LoopDevice } from "../../lab/standins/loop-device.js";
import { pollUntil, runCommand, spawnTracked, terminate } from "../../lab/standins/processes.js";
import { PythonHost } from "../../lab/standins/python-host.js";
import { SanlockDaemon } from "../../lab/standins/sanlock-daemon.js";
import { TEST_TIMING, timingSection } from "../../lab/timing.js";
import { formatKeyValue } from "../../src/common/keyvalue.js";
import { silentLogger } from "../../src/common/log.js";
import { haPaths } from "../../src/common/paths.js";
import { MiB, type SectorGeometry } from "../../src/common/sector-geometry.js";
import { Lockspace, type LockspaceSpec } from "../../src/sanlock/lockspace.js";
import { HE_LOCKSPACE } from "../../src/sanlock/names.js";
import { VmLease } from "../../src/sanlock/vm-lease.js";
import { alignedBuffer } from "../../src/storage/direct-io.js";
import { parseDomainMetadata } from "../../src/storage/domain-metadata.js";
import { hostBlock } from "../broker/broker-harness.js";
import { storageInitArgs } from "../cli/cluster.js";
import { runHeHa } from "../cli/harness.js";
import { type BrokerProcess, startBrokerProcess } from "../support/broker-process.js";
import { removeDir, tempDir } from "../support/temp.js";

const FOURK: SectorGeometry = { sectorSize: 4096, alignment: MiB };

interface InitJson {
  sdUUID: string;
  domain: string;
  geometry: SectorGeometry;
  confLines: Record<string, string>;
  volumes: { metadata: { path: string }; lockspace: { path: string } };
  engineDisk: { volumeUUID: string; leasePath: string; leaseOffset: number };
}

/** `dd iflag=direct` of one 4096-byte block: the bytes as the device holds them */
async function directBlock(dev: string, index: number): Promise<Buffer> {
  const out = path.join(root, `dd-${path.basename(dev)}-${index}`);
  const r = await runCommand("dd", [
    `if=${dev}`,
    `of=${out}`,
    "bs=4096",
    `skip=${index}`,
    "count=1",
    "iflag=direct",
  ]);
  if (r.code !== 0) throw new Error(`dd failed: ${r.output}`);
  const buf = await readFile(out);
  await rm(out);
  return buf;
}

interface IoCall {
  call: "pread64" | "pwrite64";
  fd: number;
  count: number;
  offset: number;
  result: number;
}

/**
 * pread64/pwrite64 lines of `strace -f -o` output: `<tid> pwrite64(<fd>, <buf>, <count>,
 * <offset>) = <n>`; a resumed call that failed is reported with result -1
 */
function parseIo(text: string): IoCall[] {
  const out: IoCall[] = [];
  // a call another thread interrupts is split: `… <unfinished ...>`, later `<... resumed>) = n`
  const re =
    /^\d+\s+(pread64|pwrite64)\((\d+), .*, (\d+), (\d+)(?:\)\s+=\s+(-?\d+)| <unfinished \.\.\.>)/;
  for (const line of text.split("\n")) {
    if (/<\.\.\. p(read|write)64 resumed>.*= -1/.test(line))
      out.push({ call: "pwrite64", fd: -1, count: 0, offset: 0, result: -1 });
    const m = re.exec(line);
    if (m)
      out.push({
        call: m[1] as IoCall["call"],
        fd: Number(m[2]),
        count: Number(m[3]),
        offset: Number(m[4]),
        result: m[5] === undefined ? 0 : Number(m[5]),
      });
  }
  return out;
}

/** the descriptors of process `pid` open on `dev` */
async function fdsOf(pid: number, dev: string): Promise<Set<number>> {
  const fds = new Set<number>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
    if (target === dev) fds.add(Number(fd));
  }
  return fds;
}

/** strace attached to every thread of `pid`, tracing positional reads and writes */
async function traceIo(pid: number, file: string) {
  const log = `${file}.log`;
  // every thread by its id (libuv's pool threads already run), and any new one (-f)
  const tids = (await readdir(`/proc/${pid}/task`)).flatMap((t) => ["-p", t]);
  const proc = await spawnTracked(
    "strace",
    [
      "-f",
      "-qq",
      "-e",
      "trace=pread64,pwrite64,preadv,pwritev,preadv2,pwritev2",
      "-o",
      file,
      ...tids,
    ],
    { logFile: log },
  );
  // strace is attached once the traced process's reads show up in the file
  await pollUntil(
    "strace attached",
    async () => /pread64\(/.test(await readFile(file, "utf8").catch(() => "")),
    20_000,
    100,
  );
  return {
    file,
    async stop() {
      await terminate(proc, 5000);
    },
  };
}

let root: string;
const loops: Record<string, LoopDevice> = {};
let ours: SanlockDaemon | undefined;
let python: PythonHost | undefined;
let init: InitJson;
let seedConf: string;
const lockspace = new Lockspace({ log: silentLogger, retryDelayMs: 200 });
const joined: LockspaceSpec[] = [];

async function heHaInit(domain: string, devices: Record<string, string>) {
  return runHeHa(
    root,
    storageInitArgs(domain, seedConf, [
      "--sector-size",
      "4096",
      "--alignment",
      "1M",
      ...Object.entries(devices).flatMap(([area, dev]) => ["--device", `${area}=${dev}`]),
    ]),
  );
}

beforeAll(async () => {
  root = await tempDir("fourk-block");
  const sizes: Record<string, [number, 512 | 4096]> = {
    ids: [4 * MiB, 4096],
    leases: [112 * MiB, 4096],
    xleases: [4 * MiB, 4096],
    "he-metadata": [8 * MiB, 4096],
    "he-lockspace": [2 * MiB, 4096],
    spare512: [8 * MiB, 512],
  };
  for (const [name, [bytes, sector]] of Object.entries(sizes))
    loops[name] = await attachLoop(path.join(root, `${name}.img`), bytes, sector);
  await mkdir(path.join(root, "seed"));
  seedConf = path.join(root, "seed", "hosted-engine.conf");
  await writeFile(
    seedConf,
    "fqdn=engine.example.com\nhost_id=1\nstorage=/dev/loop-stand-in\ndomainType=posixfs\nnetwork_test=none\n",
  );
  const r = await heHaInit(path.join(root, "storage", "he-domain"), {
    ids: loops.ids!.device,
    leases: loops.leases!.device,
    xleases: loops.xleases!.device,
    "he-metadata": loops["he-metadata"]!.device,
    "he-lockspace": loops["he-lockspace"]!.device,
  });
  if (r.code !== 0) throw new Error(`he-ha storage init failed: ${r.stderr}`);
  init = JSON.parse(r.stdout) as InitJson;
  const paths = haPaths(root);
  await mkdir(path.dirname(paths.hostConf), { recursive: true });
  await writeFile(
    paths.hostConf,
    `${await readFile(seedConf, "utf8")}${formatKeyValue(Object.entries(init.confLines))}`,
  );
  await mkdir(path.dirname(paths.agentConf), { recursive: true });
  await writeFile(
    paths.agentConf,
    timingSection({ broker_storage_cycle: TEST_TIMING.broker_storage_cycle }, "tests' cycle"),
  );
  ours = await SanlockDaemon.start({ runDir: path.join(root, "sanlock"), hostName: "ours" });
  process.env.SANLOCK_RUN_DIR = ours.runDir;
  python = await PythonHost.start(path.join(root, "python-host"), "python-host");
}, 180_000);

afterAll(async () => {
  for (const spec of joined.reverse()) await lockspace.remLockspace(spec).catch(() => undefined);
  await python?.stop();
  await ours?.stop().catch(() => undefined);
  await detachAll(Object.values(loops));
  if (root && !process.env.KEEP_TEST_DIR) await removeDir(root);
});

describe("he-ha storage init on 4K loop devices", () => {
  it("declares 4K/1M in dom_md/metadata and links each area to its device", async () => {
    expect(init.geometry).toEqual(FOURK);
    const md = parseDomainMetadata(
      await readFile(path.join(init.domain, "dom_md", "metadata"), "utf8"),
    );
    expect(md.get("BLOCK_SIZE")).toBe("4096");
    expect(md.get("ALIGNMENT")).toBe(String(MiB));
    for (const area of ["ids", "leases", "xleases"])
      expect(await readlink(path.join(init.domain, "dom_md", area))).toBe(loops[area]!.device);
    expect(await readlink(init.volumes.metadata.path)).toBe(loops["he-metadata"]!.device);
    expect(await readlink(init.volumes.lockspace.path)).toBe(loops["he-lockspace"]!.device);
  });

  it("writes the leases python3-sanlock reads with sector=4096: SDM at 1 alignment, the engine volume lease at (100 + slot) x alignment", async () => {
    const leases = loops.leases!.device;
    expect(await python!.readResource(leases, MiB, FOURK)).toBe(
      `ok read_resource ${init.sdUUID} SDM`,
    );
    expect(init.engineDisk.leasePath).toBe(path.join(init.domain, "dom_md", "leases"));
    expect(init.engineDisk.leaseOffset % MiB).toBe(0);
    expect(init.engineDisk.leaseOffset).toBeGreaterThanOrEqual(101 * MiB);
    expect(await python!.readResource(leases, init.engineDisk.leaseOffset, FOURK)).toBe(
      `ok read_resource ${init.sdUUID} ${init.engineDisk.volumeUUID}`,
    );
  });

  it("refuses a device whose sector size is not the domain's, naming it, and creates nothing", async () => {
    const domain = path.join(root, "storage", "wrong");
    const r = await heHaInit(domain, { "he-metadata": loops.spare512!.device });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `device ${loops.spare512!.device} has 512-byte sectors; the domain is 4K/1M`,
    );
    expect(await readFile(path.join(domain, "dom_md", "metadata")).catch(() => null)).toBeNull();
    expect((await directBlock(loops.spare512!.device, 0)).every((b) => b === 0)).toBe(true);
  });
});

describe("our services on the 4K devices", () => {
  let broker: BrokerProcess | undefined;

  afterAll(async () => {
    await broker?.stop();
  });

  it("joins both lockspaces with the domain's geometry, takes the engine lease against a Python host", async () => {
    const common = { hostId: 1, offset: 0, ioTimeout: 1, geometry: FOURK };
    const he = { ...common, name: HE_LOCKSPACE, path: init.volumes.lockspace.path };
    const sd = { ...common, name: init.sdUUID, path: path.join(init.domain, "dom_md", "ids") };
    for (const spec of [he, sd]) {
      expect(await lockspace.addLockspace(spec)).toBe("joined");
      joined.push(spec);
    }
    expect(await python!.join(init.sdUUID, 2, sd.path)).toBe("ok join");
    const ref = {
      lockspace: init.sdUUID,
      resource: init.engineDisk.volumeUUID,
      path: init.engineDisk.leasePath,
      offset: init.engineDisk.leaseOffset,
    };
    const mine = new VmLease({ ...ref, hostId: 1, geometry: FOURK }, { log: silentLogger });
    try {
      expect(await mine.acquire()).toBe("acquired");
      expect(await python!.acquire(ref)).toMatch(/^err acquire/);
      expect(await python!.owners(ref, FOURK)).toMatch(/^ok owners 1:\d+$/);
      expect(await mine.release()).toBe("released");
    } finally {
      mine.close();
    }
  });

  it("the broker writes the whiteboard with O_DIRECT in whole 4096-byte sectors (strace sees every pread64/pwrite64 it makes there); a 512-byte O_DIRECT write there fails", async () => {
    broker = await startBrokerProcess(root, {
      env: { ...process.env, HE_HA_SOCKET_GROUP: "" },
      logLevel: "info",
      ready: "stats",
    });
    const dev = loops["he-metadata"]!.device;
    const trace = await traceIo(broker.proc.pid, path.join(root, "broker.strace"));
    const block = hostBlock(1, 2000, 3000);
    try {
      await broker.client.putStats(1, block);
      await pollUntil(
        "segment 1 on the 4K device",
        async () => (await directBlock(dev, 1)).subarray(0, block.length).equals(block),
        30_000,
        100,
      );
    } finally {
      await trace.stop();
    }
    const fds = await fdsOf(broker.proc.pid, dev);
    const traced = parseIo(await readFile(trace.file, "utf8"));
    expect(traced.filter((c) => c.result < 0)).toEqual([]);
    const calls = traced.filter((c) => fds.has(c.fd));
    expect(calls.filter((c) => c.call === "pwrite64").length).toBeGreaterThan(0);
    expect(calls.filter((c) => c.call === "pread64").length).toBeGreaterThan(0);
    const unaligned = calls.filter((c) => c.count % 4096 !== 0 || c.offset % 4096 !== 0);
    expect(unaligned).toEqual([]);
    const log = await broker.log();
    expect(log).toMatch(/"direct_io":true[^\n]*metadata volume opened/);
    expect(log).not.toContain("does not support O_DIRECT");
    // the device refuses what our code never sends
    const fh = await open(dev, constants.O_WRONLY | constants.O_DIRECT);
    try {
      const err = await fh.write(alignedBuffer(512).fill(0), 0, 512, 4096 * 2).catch((e) => e);
      expect((err as NodeJS.ErrnoException).code).toBe("EINVAL");
    } finally {
      await fh.close();
    }
    expect((await directBlock(dev, 1)).subarray(0, block.length).equals(block)).toBe(true);
  });

  it("a whiteboard device of another sector size: the broker names it, serves on and never writes it", async () => {
    await broker?.stop();
    broker = undefined;
    const link = init.volumes.metadata.path;
    await rm(link);
    await symlink(loops.spare512!.device, link);
    try {
      broker = await startBrokerProcess(root, {
        env: { ...process.env, HE_HA_SOCKET_GROUP: "" },
        logLevel: "info",
      });
      await broker.client.putStats(1, hostBlock(1, 2100, 3000)).catch(() => undefined);
      const spare = loops.spare512!.device;
      const named = `${link} (${spare}) has 512-byte sectors but the storage domain uses 4096-byte sectors`;
      await pollUntil(
        "the broker naming the device",
        async () => (await broker!.log()).includes(named),
        30_000,
        100,
      );
      const status = await broker.client.status();
      expect(status.storage.has_read).toBe(false);
      for (const i of [0, 1, 2])
        expect((await directBlock(spare, i)).every((b) => b === 0)).toBe(true);
    } finally {
      await rm(link);
      await symlink(loops["he-metadata"]!.device, link);
    }
  });
});
