import { readFile, stat } from "node:fs/promises";
import { parseMountinfo } from "../../src/storage/connect/mountinfo.js";
import type { DemoCluster } from "./cluster.js";
import { predictWhatIf, showPrediction } from "./live-insight.js";
import { coldStartBudget, startup, waitEngineUp } from "./scenario-steps.js";
import type { Scenario } from "./scenario-types.js";

/** The agent's log lines (JSON) that say the storage domain became unusable / usable again. */
const OUTAGE_MSG = "storage domain unusable: no decision";
const BACK_MSG = "storage domain usable again";

/** Byte offsets of every host's agent log, to look only at what is logged afterwards. */
async function agentLogMarks(c: DemoCluster): Promise<Map<number, number>> {
  const marks = new Map<number, number>();
  for (const h of c.hosts)
    marks.set(h.id, (await stat(`${h.logDir}/agent.log`).catch(() => ({ size: 0 }))).size);
  return marks;
}

/** Hosts whose agent logged `msg` after the mark. */
async function loggedSince(c: DemoCluster, marks: Map<number, number>, msg: string) {
  const out: number[] = [];
  for (const h of c.hosts) {
    const text = await readFile(`${h.logDir}/agent.log`).catch(() => Buffer.alloc(0));
    if (text.subarray(marks.get(h.id) ?? 0).includes(msg)) out.push(h.id);
  }
  return out;
}

/**
 * A real GlusterFS outage: the volume stops (its brick process ends), so every host's
 * mount answers ENOTCONN. Every agent must notice, decide nothing and start nothing
 * while it lasts; sanlock fails the lockspaces once renewals have failed for 8 ×
 * io_timeout (and kills the engine VM through the kill path). The volume starts again:
 * the mounts reconnect by themselves, every agent resumes on its own, rejoins the
 * lockspace, and the engine comes back on exactly one host.
 */
export const glusterStorageLoss: Scenario = async (c, phase) => {
  await startup(c, phase);
  const volume = c.volume;
  if (!volume) throw new Error("storage-loss on gluster needs the cluster's GlusterFS volume");
  const engineHost = c.engineHosts[0]!;
  const everyone = c.hosts.map((h) => h.id);
  const outageSeconds = 8 * c.profile.ioTimeout + 4;
  phase("ask the simulator: what if the storage is lost now, and back after the outage?");
  const predicted = await predictWhatIf(c, everyone, [
    "--storage-loss",
    "all",
    "--restore-after",
    String(outageSeconds),
  ]);
  const marks = await agentLogMarks(c);
  phase(`GlusterFS volume ${volume.name} stops: every host's mount answers ENOTCONN`);
  const t0 = c.elapsed();
  await volume.stop();
  c.event(`volume ${volume.name} stopped (gluster volume stop: the brick process ends)`);
  let vmGone = Number.NaN;
  const watchOutage = async () => {
    const running = await c.sampleHypervisors();
    if (running.some((h) => h !== engineHost))
      throw new Error(`the engine VM was started on host${running} while storage was down`);
    if (Number.isNaN(vmGone) && !running.includes(engineHost)) {
      vmGone = c.elapsed() - t0;
      c.event(
        `engine VM gone from host${engineHost} ${vmGone.toFixed(1)}s into the outage (sanlock: lockspace failed)`,
      );
    }
  };
  await c.waitFor(
    "every agent to report the storage outage",
    async () => {
      await watchOutage();
      return (await loggedSince(c, marks, OUTAGE_MSG)).length === everyone.length;
    },
    outageSeconds + 30,
  );
  const detection = c.elapsed() - t0;
  c.event(`every agent reports the domain unusable ${detection.toFixed(1)}s after the fault`);
  while (c.elapsed() - t0 < outageSeconds) {
    await watchOutage();
    await new Promise((r) => setTimeout(r, 500));
  }
  phase(`volume ${volume.name} starts again`);
  const t1 = c.elapsed();
  await volume.start();
  c.event(`volume ${volume.name} started after ${(t1 - t0).toFixed(1)}s down`);
  const budget = coldStartBudget(c) + c.profile.hostDeadSeconds;
  await c.waitFor(
    "every agent to resume by itself",
    async () => (await loggedSince(c, marks, BACK_MSG)).length === everyone.length,
    budget,
  );
  const resumed = c.elapsed() - t1;
  c.event(`every agent resumed ${resumed.toFixed(1)}s after the volume came back`);
  const host = await waitEngineUp(c, budget);
  const recovery = c.elapsed() - t1;
  c.event(`engine up on host${host} ${recovery.toFixed(1)}s after the volume came back`);
  showPrediction(c, predicted, { hostId: host, seconds: c.elapsed() - t0 });
  phase("a host's mount disappears behind its agent's back");
  const victim = c.hosts.find((h) => h.id !== host) ?? c.hosts[0]!;
  const t2 = c.elapsed();
  await victim.dropStorageMount();
  c.event(`umount -l of host${victim.id}'s storage mount`);
  await c.waitFor(
    `host${victim.id}'s agent to mount the domain again`,
    async () => (await hostMounts(c)).includes(victim.storageMountPoint!),
    30,
  );
  const remount = c.elapsed() - t2;
  c.event(`host${victim.id}'s agent mounted the domain again after ${remount.toFixed(1)}s`);
  return {
    remount_seconds: remount,
    detection_seconds: detection,
    outage_seconds: t1 - t0,
    vm_gone_seconds: vmGone,
    resume_seconds: resumed,
    recovery_seconds: recovery,
    host_dead_seconds: c.profile.hostDeadSeconds,
  };
};

/**
 * A full power-off: every host dies at once (agents, brokers, sanlock daemons, libvirtd
 * and its VM, storage mounts), then every host boots with nothing mounted and no
 * lockspace joined, over the storage that still holds the old delta leases and the
 * engine VM lease of the previous generation. The agents connect the storage, rejoin,
 * and the engine comes back on one host. What bounds it is sanlock: the lease of a
 * dead host generation is free 8 × io_timeout + 60 s after its last renewal.
 */
export const powerOff: Scenario = async (c, phase) => {
  const cold = await startup(c, phase);
  phase("power-off: every host dies at once");
  await Promise.all(c.hosts.map((h) => h.kill9()));
  const tOff = c.elapsed();
  c.event("every host killed hard: agents, brokers, sanlock, libvirtd (VM gone), mounts detached");
  const mounted = await hostMounts(c);
  if (mounted.length > 0)
    throw new Error(`still mounted after the power-off: ${mounted.join(", ")}`);
  await new Promise((r) => setTimeout(r, 2000));
  phase("every host boots with nothing mounted");
  const marks = await agentLogMarks(c);
  const bootWall = Date.now();
  await Promise.all(c.hosts.map((h) => h.boot()));
  const tBoot = c.elapsed();
  await c.startAll();
  const budget = coldStartBudget(c) + c.profile.hostDeadSeconds;
  const host = await waitEngineUp(c, budget);
  const bootToUp = c.elapsed() - tBoot;
  const remounted = await hostMounts(c);
  if (c.storageKind === "gluster" && remounted.length !== c.hosts.length)
    throw new Error(`only ${remounted.length} of ${c.hosts.length} hosts mounted the storage`);
  const joined = await loggedTimes(c, marks, "sanlock lockspace joined");
  const joinAfterBoot = (Math.max(...joined) - bootWall) / 1000;
  const fast = await fastReacquires(c);
  const shortDelay = 2 * c.profile.ioTimeout;
  c.event(
    `storage mounted again by the agents of ${remounted.length} hosts; lockspace joined by every host ${joinAfterBoot.toFixed(1)}s after boot (sanlock "fast reacquire" of the host's own delta lease on ${fast.map((h) => `host${h}`).join(", ") || "no host"}: ${shortDelay}s delta_short_delay instead of waiting ${c.profile.hostDeadSeconds}s)`,
  );
  c.event(
    `engine up on host${host} ${bootToUp.toFixed(1)}s after boot: the old engine lease is free once its host rejoins with a new generation; had that host stayed off, ${c.profile.hostDeadSeconds}s after its last renewal (8 × io_timeout + 60)`,
  );
  return {
    ...cold,
    off_seconds: tBoot - tOff,
    join_after_boot_seconds: joinAfterBoot,
    boot_to_engine_up_seconds: bootToUp,
    sanlock_short_delay_seconds: shortDelay,
    host_dead_seconds: c.profile.hostDeadSeconds,
  };
};

/** Epoch milliseconds of the agent log lines with `msg` written after the marks. */
async function loggedTimes(c: DemoCluster, marks: Map<number, number>, msg: string) {
  const out: number[] = [];
  for (const h of c.hosts) {
    const text = await readFile(`${h.logDir}/agent.log`).catch(() => Buffer.alloc(0));
    for (const line of text
      .subarray(marks.get(h.id) ?? 0)
      .toString("utf8")
      .split("\n")) {
      if (!line.includes(msg)) continue;
      const t = /"time":"([^"]+)"/.exec(line);
      if (t) out.push(Date.parse(t[1]!));
    }
  }
  return out;
}

/** Hosts whose sanlock daemon (this boot's) logged a fast reacquire of its delta lease. */
async function fastReacquires(c: DemoCluster): Promise<number[]> {
  const out: number[] = [];
  for (const h of c.hosts) {
    if (!h.sanlock) continue;
    const text = await readFile(h.sanlock.logFile, "utf8").catch(() => "");
    const thisBoot = text.slice(text.lastIndexOf("sanlock daemon started"));
    if (/delta_acquire fast reacquire/.test(thisBoot)) out.push(h.id);
  }
  return out;
}

/** The hosts' storage mount points that are mounted now. */
async function hostMounts(c: DemoCluster): Promise<string[]> {
  const recs = parseMountinfo(await readFile("/proc/self/mountinfo", "utf8"));
  const points = new Set(c.hosts.map((h) => h.storageMountPoint).filter((p) => p !== undefined));
  return recs.filter((r) => points.has(r.mountPoint)).map((r) => r.mountPoint);
}
