import { readFile } from "node:fs/promises";

/**
 * What one process costs, from /proc: CPU (its own and its waited-for children's, e.g.
 * the `dd` or `ping` it spawns), RSS, and USS — the memory only this process holds
 * (`Private_Clean + Private_Dirty` of smaps_rollup), which unlike RSS does not count the
 * shared file pages of node's binary and libraries once more per process.
 */
export interface ProcUsage {
  /** utime + stime, seconds */
  cpuOwnSeconds: number;
  /** cutime + cstime: children the process waited for, seconds */
  cpuChildrenSeconds: number;
  rssKiB: number;
  /** NaN when smaps_rollup cannot be read (another user's process without root) */
  ussKiB: number;
}

/** USER_HZ: the unit of /proc/<pid>/stat times on Linux (100 on every architecture). */
const CLK_TCK = 100;

/** One look at `pid`; throws when it is gone. */
export async function procUsage(pid: number): Promise<ProcUsage> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  // fields after "(comm) ": state is [0]; utime [11], stime [12], cutime [13], cstime [14]
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const rssKiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
  let ussKiB = Number.NaN;
  try {
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, "utf8");
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1]);
    ussKiB = kb("Private_Clean") + kb("Private_Dirty");
  } catch {
    // not readable here: USS stays unknown
  }
  return {
    cpuOwnSeconds: (Number(f[11]) + Number(f[12])) / CLK_TCK,
    cpuChildrenSeconds: (Number(f[13]) + Number(f[14])) / CLK_TCK,
    rssKiB,
    ussKiB,
  };
}
