/**
 * Loop devices standing in for block storage (this machine has no device-mapper: no LVM,
 * no multipath). `losetup --sector-size 4096` gives a device with 4096-byte logical and
 * physical sectors, as a 4K LUN has; 512 is the default. Each device is backed by a
 * sparse image file of the caller's; detach() releases it (call it in afterAll).
 */
import { truncate, writeFile } from "node:fs/promises";
import { runCommand } from "./processes.js";

export interface LoopDevice {
  /** `/dev/loopN` */
  device: string;
  image: string;
  sectorSize: 512 | 4096;
  /** `losetup -d`; safe to call twice */
  detach(): Promise<void>;
}

/** A loop device over a new sparse `image` of `bytes`, with `sectorSize`-byte sectors. */
export async function attachLoop(
  image: string,
  bytes: number,
  sectorSize: 512 | 4096,
): Promise<LoopDevice> {
  await writeFile(image, "", { flag: "wx" });
  await truncate(image, bytes);
  const r = await runCommand("losetup", [
    "-f",
    "--show",
    "--direct-io=off",
    "--sector-size",
    String(sectorSize),
    image,
  ]);
  const device = r.output.trim();
  if (r.code !== 0 || !device.startsWith("/dev/loop"))
    throw new Error(`losetup of ${image} failed (${r.code}): ${r.output.trim()}`);
  let attached = true;
  return {
    device,
    image,
    sectorSize,
    async detach() {
      if (!attached) return;
      attached = false;
      await runCommand("losetup", ["-d", device]);
    },
  };
}

/** Detaches every device, whatever fails (afterAll). */
export async function detachAll(devices: Iterable<LoopDevice | undefined>): Promise<void> {
  await Promise.all([...devices].map((d) => d?.detach().catch(() => undefined)));
}
