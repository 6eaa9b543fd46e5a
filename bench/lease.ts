/**
 * Real-component timings of the host layer: sanlock lockspace join/leave with
 * io_timeout 1, the engine VM lease (acquire, release, orphan adoption), a libvirtd stand-in's
 * start, and VM start/state calls through it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initLeaseVolume, initResourceLease } from "../lab/standins/lease-volume.js";
import { Libvirtd } from "../lab/standins/libvirtd.js";
import { SanlockDaemon } from "../lab/standins/sanlock-daemon.js";
import { silentLogger } from "../src/common/log.js";
import { HypervisorConnection } from "../src/libvirt/hypervisor.js";
import { Lockspace } from "../src/sanlock/lockspace.js";
import { VmLease } from "../src/sanlock/vm-lease.js";
import { type BenchResult, summarize } from "./types.js";

const VM_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const SD_UUID = "3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a9f";
const VOLUME_ID = "6e5d4c3b-2a19-4f08-8e7d-6c5b4a392817";

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function result(name: string, samples: number[], target?: string, note?: string): BenchResult {
  return { name, unit: "ms", ...summarize(samples), samples: samples.length, target, note };
}

export async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), "he-ha-bench-lease-"));
  const results: BenchResult[] = [];
  let daemon: SanlockDaemon | null = null;
  let libvirtd: Libvirtd | null = null;
  const previousRunDir = process.env.SANLOCK_RUN_DIR;
  try {
    // oVirt's layout: the storage domain's lockspace on dom_md/ids, the engine disk's
    // volume lease at offset 0 of its .lease file
    const volume = join(dir, "ids");
    const leaseFile = join(dir, `${VOLUME_ID}.lease`);
    await initLeaseVolume(volume, { lockspace: SD_UUID, ioTimeout: 1 });
    await initResourceLease(leaseFile, SD_UUID, VOLUME_ID, 0);
    const daemonStart: number[] = [];
    daemonStart.push(
      await timed(async () => {
        daemon = await SanlockDaemon.start({ runDir: join(dir, "host1"), hostName: "host1" });
      }),
    );
    results.push(result("sanlock daemon start (socket ready)", daemonStart));
    process.env.SANLOCK_RUN_DIR = join(dir, "host1");

    const ls = new Lockspace({ log: silentLogger });
    const spec = { name: SD_UUID, hostId: 1, path: volume, offset: 0, ioTimeout: 1 };
    const joins: number[] = [];
    const leaves: number[] = [];
    for (let i = 0; i < 3; i++) {
      joins.push(await timed(() => ls.addLockspace(spec)));
      leaves.push(await timed(() => ls.remLockspace(spec)));
    }
    results.push(result("lockspace join, io_timeout 1", joins, undefined, "~3 x io_timeout"));
    results.push(result("lockspace leave, io_timeout 1", leaves));
    await ls.addLockspace(spec);
    const inq: number[] = [];
    for (let i = 0; i < 50; i++) inq.push(await timed(() => ls.inqLockspace(spec)));
    results.push(result("lockspace inquire", inq));

    const leaseSpec = {
      lockspace: SD_UUID,
      resource: VOLUME_ID,
      path: leaseFile,
      offset: 0,
      hostId: 1,
    };
    const acquire: number[] = [];
    const release: number[] = [];
    const adopt: number[] = [];
    for (let i = 0; i < 10; i++) {
      const first = new VmLease(leaseSpec, { log: silentLogger });
      acquire.push(await timed(() => first.acquire()));
      first.close();
      const second = new VmLease(leaseSpec, { log: silentLogger });
      adopt.push(await timed(() => second.adopt()));
      release.push(await timed(() => second.release()));
      second.close();
    }
    results.push(result("VM lease acquire (free lease)", acquire));
    results.push(result("VM lease adopt orphan (agent restart)", adopt));
    results.push(result("VM lease release", release));
    await ls.remLockspace(spec);

    const libvirtdStart: number[] = [];
    for (let i = 0; i < 3; i++) {
      libvirtdStart.push(
        await timed(async () => {
          libvirtd = await Libvirtd.start({ dir: join(dir, `libvirt${i}`) });
        }),
      );
      if (i < 2) await (libvirtd as Libvirtd | null)?.stop();
    }
    results.push(result("libvirtd stand-in start (namespace + keeper)", libvirtdStart));
    const conn = new HypervisorConnection((libvirtd as unknown as Libvirtd).uri, silentLogger);
    const xml = `<domain type='test'><name>he</name><uuid>${VM_ID}</uuid><memory unit='MiB'>1024</memory><vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os></domain>`;
    const starts: number[] = [];
    const states: number[] = [];
    for (let i = 0; i < 20; i++) {
      starts.push(await timed(() => conn.startDomain(xml)));
      for (let j = 0; j < 5; j++) states.push(await timed(() => conn.domainState(VM_ID)));
      await conn.destroyDomain(VM_ID);
    }
    await conn.close();
    results.push(result("VM start through libvirtd (test driver)", starts));
    results.push(result("VM state query through libvirtd", states));
  } finally {
    if (previousRunDir === undefined) delete process.env.SANLOCK_RUN_DIR;
    else process.env.SANLOCK_RUN_DIR = previousRunDir;
    await (libvirtd as Libvirtd | null)?.stop();
    await (daemon as SanlockDaemon | null)?.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}
