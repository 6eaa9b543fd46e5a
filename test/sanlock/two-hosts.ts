import { join } from "node:path";
import { initLeaseVolume, initResourceLease } from "../../lab/standins/lease-volume.js";
import { SanlockDaemon } from "../../lab/standins/sanlock-daemon.js";
import { removeDir, tempDir } from "../support/temp.js";

/** Two real sanlock daemons (host1, host2) and one volume: lockspace hosted-engine at 0, `vmId`'s lease at 1 MiB. */
export interface TwoSanlockHosts {
  dir: string;
  volume: string;
  host1: SanlockDaemon;
  host2: SanlockDaemon;
  /** stops both daemons and removes the directory */
  stop(): Promise<void>;
}

export async function startTwoSanlockHosts(name: string, vmId: string): Promise<TwoSanlockHosts> {
  const dir = await tempDir(name);
  const volume = join(dir, "lockspace.vol");
  await initLeaseVolume(volume, { ioTimeout: 1 });
  await initResourceLease(volume, "hosted-engine", vmId, 1_048_576);
  const [host1, host2] = await Promise.all([
    SanlockDaemon.start({ runDir: join(dir, "host1"), hostName: "host1" }),
    SanlockDaemon.start({ runDir: join(dir, "host2"), hostName: "host2" }),
  ]);
  return {
    dir,
    volume,
    host1,
    host2,
    async stop() {
      await Promise.all([host1.stop(), host2.stop()]);
      await removeDir(dir);
    },
  };
}
