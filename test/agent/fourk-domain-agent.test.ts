/**
 * Our agent and broker on a 4K file domain with real sanlock daemons: the domain lives on
 * ext4 on a loop device with 4096-byte sectors (`losetup --sector-size 4096`), so every
 * O_DIRECT read or write there must be whole 4K sectors and sanlock must use 4K leases.
 * `storage init` lays it out as 4K/1M (dom_md/metadata BLOCK_SIZE, ALIGNMENT; sanlock
 * `-Z 4096 -A 1M`); the agent reads that geometry, checks the volumes against it, joins
 * both lockspaces and starts the engine VM under its volume lease; a Python host
 * (python3-sanlock with its own daemon) is refused that lease, and python3-sanlock reads
 * our leases with `sector=4096`.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attachLoop, type LoopDevice } from "../../lab/standins/loop-device.js";
import { runCommand } from "../../lab/standins/processes.js";
import { type LeaseRef, PythonHost } from "../../lab/standins/python-host.js";
import { MiB, type SectorGeometry } from "../../src/common/sector-geometry.js";
import type { StorageInitResult } from "../../src/storage/init.js";
import { sectorSizeOf } from "../../src/storage/sector-probe.js";
import { runHeHa } from "../cli/harness.js";
import { removeDir, tempDir } from "../support/temp.js";
import { AgentHost, makeStorage, startHealthServer } from "./agent-host.js";

const FOURK: SectorGeometry = { sectorSize: 4096, alignment: MiB };

describe("our agent on a 4K file domain (ext4 on a 4096-byte-sector loop device)", () => {
  let dir: string;
  let loop: LoopDevice | undefined;
  let mnt: string;
  let storage: StorageInitResult;
  let ours: AgentHost | undefined;
  let python: PythonHost | undefined;
  let health: Awaited<ReturnType<typeof startHealthServer>> | undefined;
  let lease: LeaseRef;

  beforeAll(async () => {
    dir = await tempDir("fourk-agent");
    loop = await attachLoop(path.join(dir, "fs.img"), 1536 * MiB, 4096);
    const mkfs = await runCommand("mkfs.ext4", ["-q", "-b", "4096", loop.device]);
    if (mkfs.code !== 0) throw new Error(`mkfs.ext4: ${mkfs.output}`);
    mnt = path.join(dir, "mnt");
    await mkdir(mnt);
    const m = await runCommand("mount", ["-t", "ext4", loop.device, mnt]);
    if (m.code !== 0) throw new Error(`mount: ${m.output}`);
    storage = await makeStorage(dir, undefined, {
      domain: path.join(mnt, "he-domain"),
      geometry: FOURK,
    });
    health = await startHealthServer();
    ours = await AgentHost.create(path.join(dir, "host1"), 1, storage, health.fqdn);
    await ours.startBroker();
    python = await PythonHost.start(path.join(dir, "python-host"), "python-host");
    const d = storage.engineDisk;
    lease = { lockspace: storage.sdUUID, resource: d.volumeUUID, path: d.leasePath, offset: 0 };
  }, 180_000);

  afterAll(async () => {
    await ours?.destroy();
    await python?.stop();
    await health?.close();
    if (mnt) await runCommand("umount", ["-l", mnt]);
    await loop?.detach();
    if (dir && !process.env.KEEP_TEST_DIR) await removeDir(dir);
  }, 120_000);

  it("the domain's files are on 4K storage and its leases are 4K leases python3-sanlock reads", async () => {
    expect(await sectorSizeOf(storage.volumes.metadata.path)).toBe(4096);
    expect(await sectorSizeOf(storage.domMd.ids)).toBe(4096);
    expect(storage.geometry).toEqual(FOURK);
    expect(await python!.readResource(lease.path, 0, FOURK)).toBe(
      `ok read_resource ${storage.sdUUID} ${lease.resource}`,
    );
  });

  it("the agent reads 4K/1M, joins both lockspaces, starts the engine under its lease; the Python host is refused", async () => {
    await ours!.startAgent();
    await ours!.waitState("EngineUp", 180_000);
    const log = await ours!.agentLog();
    expect(log).toMatch(/"geometry":"4K\/1M"[^\n]*storage domain sector geometry/);
    const status = await ours!.sanlockStatus();
    expect(status).toMatch(/^s hosted-engine:1:/m);
    expect(status).toMatch(new RegExp(`^s ${storage.sdUUID}:1:`, "m"));
    expect(status).toMatch(new RegExp(`^r ${lease.lockspace}:${lease.resource}:`, "m"));
    expect(await python!.join(storage.sdUUID, 2, storage.domMd.ids)).toBe("ok join");
    expect(await python!.acquire(lease)).toMatch(/^err acquire -?(243|244|245|11) /);
    expect(await python!.owners(lease, FOURK)).toMatch(/^ok owners 1:\d+$/);
    const r = await runHeHa(ours!.root, ["lease", "status", "--json"], ours!.env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).owner).toMatchObject({ hostId: 1 });
    // the broker wrote our block to the 4K whiteboard (O_DIRECT, whole sectors)
    expect((await ours!.ownBlock())?.hostId).toBe(1);
    expect(await ours!.brokerLog()).toMatch(/"direct_io":true[^\n]*metadata volume opened/);
  }, 300_000);
});
