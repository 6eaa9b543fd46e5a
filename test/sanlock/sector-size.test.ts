/**
 * The engine VM's volume lease on a block domain's `leases` device, at the offset VDSM
 * gives it, `(100 + slot) × alignment` (blockSD.volume_lease_offset), on 512-byte and on
 * 4K-sector loop devices (standing in for the LVs: no device-mapper here). The domain's
 * areas are written by python3-sanlock as VDSM writes them (`write_lockspace` /
 * `write_resource` with `align=` and `sector=`); a second real sanlock client (a Python
 * host: its own daemon, python3-sanlock registering and acquiring as libvirt does for
 * qemu) and our VmLease, with the domain's geometry as sanlock flags, contend for it:
 * each is refused while the other holds it. Neither side's areas are our code's.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attachLoop, detachAll, type LoopDevice } from "../../lab/standins/loop-device.js";
import { runCommand } from "../../lab/standins/processes.js";
import { type LeaseRef, PythonHost } from "../../lab/standins/python-host.js";
import { SanlockDaemon } from "../../lab/standins/sanlock-daemon.js";
import { silentLogger } from "../../src/common/log.js";
import {
  blockVolumeLeaseOffset,
  MiB,
  type SectorGeometry,
} from "../../src/common/sector-geometry.js";
import { directInitLockspace, directInitResource } from "../../src/sanlock/direct-init.js";
import { LeaseHeldError } from "../../src/sanlock/errors.js";
import { Lockspace, type LockspaceSpec } from "../../src/sanlock/lockspace.js";
import { VmLease } from "../../src/sanlock/vm-lease.js";
import { blockDeviceSectorSize } from "../../src/storage/sector-probe.js";
import { removeDir, tempDir } from "../support/temp.js";

const SD = "3f1c0a52-7d4e-4b8a-9c61-2e5f8a7b9d10";
const ENGINE_VOLUME = "9b2d7e41-5c3a-4f86-a1d0-6e8f2b4c7a95";
/** the engine disk volume's metadata slot (VDSM's MD_<slot> LV tag) */
const SLOT = 4;

/**
 * Our host: one daemon for the whole file, since libsanlock reads SANLOCK_RUN_DIR once
 * per process (a second daemon in another run dir would not be reached).
 */
let baseDir: string;
let ours: SanlockDaemon | undefined;

beforeAll(async () => {
  baseDir = await tempDir("fourk-lease");
  ours = await SanlockDaemon.start({ runDir: path.join(baseDir, "ours"), hostName: "ours" });
  process.env.SANLOCK_RUN_DIR = ours.runDir;
});

afterAll(async () => {
  await ours?.stop().catch(() => undefined);
  if (baseDir && !process.env.KEEP_TEST_DIR) await removeDir(baseDir);
});

/**
 * Who writes the domain's areas: python3-sanlock as VDSM does, or our code (`sanlock
 * direct init -Z -A`, as `he-ha storage init` and the broker's lockspace reset do). VDSM
 * uses alignments above 1 MiB on 4K storage for more hosts (2, 4, 8 MiB: 500, 1000,
 * 2000 hosts).
 */
type Case = SectorGeometry & { writer: "python3-sanlock" | "our code" };

describe.each([
  { sectorSize: 512, alignment: MiB, writer: "python3-sanlock" },
  { sectorSize: 4096, alignment: MiB, writer: "python3-sanlock" },
  { sectorSize: 4096, alignment: 2 * MiB, writer: "python3-sanlock" },
  { sectorSize: 4096, alignment: 4 * MiB, writer: "our code" },
  { sectorSize: 4096, alignment: 8 * MiB, writer: "python3-sanlock" },
  { sectorSize: 4096, alignment: 8 * MiB, writer: "our code" },
] as Case[])(
  "volume lease on a $sectorSize-byte leases device, $alignment-byte alignment, areas written by $writer",
  (c) => {
    const geometry: SectorGeometry = { sectorSize: c.sectorSize, alignment: c.alignment };
    let dir: string;
    const loops: LoopDevice[] = [];
    let python: PythonHost | undefined;
    let lease: LeaseRef;
    let mine: VmLease | undefined;
    let ls: LockspaceSpec;
    const lockspace = new Lockspace({ log: silentLogger, retryDelayMs: 200 });

    beforeAll(async () => {
      dir = path.join(
        baseDir,
        `${geometry.sectorSize}-${geometry.alignment / MiB}M-${c.writer.replace(/\W/g, "")}`,
      );
      await mkdir(dir);
      const offset = blockVolumeLeaseOffset(SLOT, geometry);
      const ids = await attachLoop(
        path.join(dir, "ids.img"),
        Math.max(8 * MiB, geometry.alignment),
        geometry.sectorSize,
      );
      loops.push(ids);
      const leases = await attachLoop(
        path.join(dir, "leases.img"),
        offset + 8 * MiB,
        geometry.sectorSize,
      );
      loops.push(leases);
      python = await PythonHost.start(path.join(dir, "python-host"), "python-host");
      lease = { lockspace: SD, resource: ENGINE_VOLUME, path: leases.device, offset };
      if (c.writer === "python3-sanlock") {
        // the domain's areas, written as VDSM writes them
        expect(await python.writeLockspace(SD, ids.device, geometry)).toBe("ok write_lockspace");
        expect(await python.writeResource(lease, geometry)).toBe("ok write_resource");
      } else {
        await directInitLockspace(SD, ids.device, 0, 1, { geometry });
        await directInitResource(SD, ENGINE_VOLUME, leases.device, offset, { geometry });
      }
      ls = { name: SD, hostId: 1, path: ids.device, offset: 0, ioTimeout: 1, geometry };
      expect(await lockspace.addLockspace(ls)).toBe("joined");
      expect(await python.join(SD, 2, ids.device)).toBe("ok join");
      mine = new VmLease({ ...lease, hostId: 1, geometry }, { log: silentLogger });
    });

    afterAll(async () => {
      await mine?.release().catch(() => undefined);
      mine?.close();
      await python?.stop();
      await lockspace.remLockspace(ls).catch(() => undefined);
      await detachAll(loops);
    });

    it("the devices really have that sector size (blockdev and our probe), and the resource is where VDSM put it", async () => {
      for (const l of loops) {
        const { output } = await runCommand("blockdev", ["--getss", l.device]);
        expect(Number(output.trim())).toBe(geometry.sectorSize);
        expect(await blockDeviceSectorSize(l.device)).toBe(geometry.sectorSize);
      }
      expect(await python!.readResource(lease.path, lease.offset, geometry)).toBe(
        `ok read_resource ${SD} ${ENGINE_VOLUME}`,
      );
    });

    it("held by the Python host: our acquire is refused and names the owner", async () => {
      expect(await python!.acquire(lease)).toBe("ok acquire");
      const refused = await mine!.acquire().catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(LeaseHeldError);
      expect((refused as LeaseHeldError).ownerHostId).toBe(2);
      expect(await mine!.inquire()).toBe("not-held");
      expect(await python!.release(lease)).toBe("ok release");
    });

    it("held by us: the Python host's acquire is refused; sanlock's owner is our host id", async () => {
      expect(await mine!.acquire()).toBe("acquired");
      expect(await python!.acquire(lease)).toMatch(/^err acquire/);
      expect(await python!.owners(lease, geometry)).toMatch(/^ok owners 1:\d+$/);
      expect(await mine!.release()).toBe("released");
      expect(await python!.acquire(lease)).toBe("ok acquire");
      expect(await python!.release(lease)).toBe("ok release");
    });
  },
);
