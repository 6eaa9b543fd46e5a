/**
 * The io_timeout a host joins a lockspace with is what the other hosts' sanlock daemons
 * judge it dead by (sanlock_admin.h: other_host_dead_seconds is "based on the host's
 * io_timeout"). A Python host joins as VDSM does, with its own `[sanlock] io_timeout`
 * (python_host.py's join io_timeout word); our Lockspace joins with the configured one.
 * Read back from the real daemons: each one's own lockspace and, on the other daemon,
 * the host it sees renewing.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initLeaseVolume } from "../../lab/standins/lease-volume.js";
import { pollUntil } from "../../lab/standins/processes.js";
import { PythonHost } from "../../lab/standins/python-host.js";
import { SanlockDaemon } from "../../lab/standins/sanlock-daemon.js";
import { silentLogger } from "../../src/common/log.js";
import { Lockspace } from "../../src/sanlock/lockspace.js";
import { HE_LOCKSPACE } from "../../src/sanlock/names.js";
import { removeDir, tempDir } from "../support/temp.js";

/** the io_timeout `sanlock client host_status -D` reports for host `hostId` */
function hostIoTimeout(output: string, hostId: number): number | undefined {
  const block = output
    .split(/^(?=\d+ timestamp)/m)
    .find((b) => b.startsWith(`${hostId} timestamp`));
  const m = block?.match(/io_timeout=(\d+)/);
  return m ? Number(m[1]) : undefined;
}

describe("the io_timeout each host joins with, as the other daemon sees it", () => {
  let dir: string;
  let ours: SanlockDaemon;
  let python: PythonHost;
  let volume: string;
  const spec = { name: HE_LOCKSPACE, hostId: 1, path: "", offset: 0, ioTimeout: 3 };
  const lockspace = new Lockspace({ log: silentLogger, retryDelayMs: 100 });

  beforeAll(async () => {
    dir = await tempDir("join-io-timeout");
    volume = join(dir, "ids");
    await initLeaseVolume(volume, { ioTimeout: 1 });
    spec.path = volume;
    ours = await SanlockDaemon.start({ runDir: join(dir, "ours"), hostName: "ours" });
    python = await PythonHost.start(join(dir, "python"), "python");
    process.env.SANLOCK_RUN_DIR = ours.runDir;
    // the lockspace was written with io_timeout 1: the join's own value must win
    const [, joined] = await Promise.all([
      lockspace.addLockspace(spec),
      python.join(HE_LOCKSPACE, 2, volume, 2),
    ]);
    expect(joined).toBe("ok join");
  });

  afterAll(async () => {
    await lockspace.remLockspace(spec).catch(() => undefined);
    await python?.stop();
    await ours?.stop();
    if (dir) await removeDir(dir);
  });

  it("our daemon sees the Python host with the io_timeout it joined with, and it sees ours", async () => {
    const seen = async (d: SanlockDaemon, id: number) =>
      hostIoTimeout(
        (await d.client(["client", "host_status", "-s", HE_LOCKSPACE, "-D"])).output,
        id,
      );
    await pollUntil(
      "host 2's io_timeout 2 on our daemon",
      async () => (await seen(ours, 2)) === 2,
      30_000,
      200,
    );
    await pollUntil(
      "host 1's io_timeout 3 on the Python host's daemon",
      async () => (await seen(python.sanlock, 1)) === 3,
      30_000,
      200,
    );
    expect(await seen(ours, 1)).toBe(3);
    expect(await seen(python.sanlock, 2)).toBe(2);
  });
});
