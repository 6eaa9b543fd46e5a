/**
 * The success rules of the demo's scenarios as pure functions over what was observed,
 * so each rule is tested on its own (test/cluster/scenario-rules.test.ts) and the
 * scenarios only gather observations. Each returns the reason the run failed, or
 * undefined when the rule holds.
 */

/** An agent's published state and engine health. */
export interface ObservedState {
  state: string;
  health: string | undefined;
}

/**
 * The engine counts as up when exactly one hypervisor runs it, not on an excluded host,
 * and that host publishes EngineUp with good health. Returns that host, or undefined.
 */
export function engineUpHost(
  running: readonly number[],
  states: ReadonlyMap<number, ObservedState>,
  notOn: readonly number[] = [],
): number | undefined {
  if (running.length !== 1) return undefined;
  const host = running[0]!;
  if (notOn.includes(host)) return undefined;
  const st = states.get(host);
  return st?.state === "EngineUp" && st.health === "good" ? host : undefined;
}

/** One state transition an agent logged ("state A -> B"): the new state and when. */
export interface LoggedTransition {
  state: string;
  atMs: number;
}

/**
 * split-brain: how the race went, from every host's logged transitions since the flag
 * cleared. A host attempted a start when it entered EngineStart. The race is settled
 * when each host has left maintenance and its last transition is EngineUp, or EngineDown
 * held for at least two loops (a host that still saw the engine down while best would
 * have moved to EngineStart within one loop). Logged transitions, unlike sampled
 * published states, miss no short EngineStart and do not lag a loop behind.
 */
export function raceProgress(
  transitions: ReadonlyMap<number, readonly LoggedTransition[]>,
  hosts: readonly number[],
  nowMs: number,
  loopMs: number,
): { attempted: number[]; settled: boolean } {
  const attempted = hosts.filter((h) =>
    (transitions.get(h) ?? []).some((t) => t.state === "EngineStart"),
  );
  const settled = hosts.every((h) => {
    const last = (transitions.get(h) ?? []).at(-1);
    if (last === undefined) return false;
    if (last.state === "EngineUp") return true;
    return last.state === "EngineDown" && nowMs - last.atMs >= 2 * loopMs;
  });
  return { attempted, settled };
}

/** split-brain: the race was forced only if at least two hosts tried (or were refused). */
export function raceNotForced(attempted: number, refusedByLease: number): string | undefined {
  return attempted + refusedByLease < 2
    ? "only one host attempted to start: the race was not forced"
    : undefined;
}

/**
 * agent/broker restart: the VM stayed on `host` alone, at least one sample was taken
 * during the restart and none of them found the VM down.
 */
export function restartDisturbedVm(
  host: number,
  running: readonly number[],
  sampleCount: number,
  sinceSample: number,
  samplesWithoutVm: readonly number[],
): string | undefined {
  if (running.length !== 1 || running[0] !== host)
    return `engine VM expected on host${host} only, found on [${running.join(",")}]`;
  if (sampleCount <= sinceSample) return "no hypervisor sample was taken during the restart";
  const down = samplesWithoutVm.filter((n) => n > sinceSample);
  return down.length > 0
    ? `the engine VM was down in ${down.length} samples during the restart`
    : undefined;
}

/**
 * storage-loss: the victim's VM must have been destroyed by sanlock's kill path (its
 * sanlock daemon logged running the kill path: "kill <pid> sig 100"), no segment may
 * be damaged, and every host's segment (the victim's last one included) must remain.
 */
export function storageLossFailure(o: {
  victim: number;
  sanlockLog: string;
  damaged: readonly string[];
  hosts: readonly number[];
  onWhiteboard: ReadonlySet<number>;
}): string | undefined {
  if (!/ kill \d+ sig 100 /.test(o.sanlockLog))
    return `host${o.victim}'s sanlock did not run the kill path (no "kill <pid> sig 100" in its log): the VM went away some other way`;
  if (o.damaged.length > 0) return `whiteboard segments damaged: ${o.damaged.join(", ")}`;
  for (const h of o.hosts) {
    if (!o.onWhiteboard.has(h))
      return h === o.victim
        ? `host${h}'s last block is gone from the whiteboard`
        : `host${h}'s segment is missing from the whiteboard`;
  }
  return undefined;
}

/**
 * A normal failover's bound, as docs/benchmarks.md states the demo's: sanlock's host-dead
 * time (a dead host's lease becomes free) with half of it again as margin, plus one start
 * of the engine VM as this cluster starts it.
 */
export function failoverBoundSeconds(hostDeadSeconds: number, vmStartSeconds: number): number {
  return 1.5 * hostDeadSeconds + vmStartSeconds;
}

/**
 * A software change of the whole cluster (migration, rollback): the engine VM never ran
 * on two hosts, was down at most once, and never longer than a normal failover.
 */
export function changeDisturbedEngine(o: {
  overlaps: readonly { hosts: readonly number[]; from: number; to: number }[];
  outages: readonly { from: number; to: number }[];
  boundSeconds: number;
}): string | undefined {
  const o1 = o.overlaps[0];
  if (o1)
    return `the engine VM ran on hosts ${o1.hosts.join(" and ")} at once (${o1.from.toFixed(1)}–${o1.to.toFixed(1)} s)`;
  if (o.outages.length > 1)
    return `the engine VM was down ${o.outages.length} times (${o.outages.map((x) => `${x.from.toFixed(1)}–${x.to.toFixed(1)} s`).join(", ")})`;
  const down = o.outages[0];
  if (down && down.to - down.from > o.boundSeconds)
    return `the engine VM was down ${(down.to - down.from).toFixed(1)} s, longer than a normal failover (${o.boundSeconds.toFixed(1)} s)`;
  return undefined;
}

/**
 * Whether one host's `sanlock client status` output shows it holding the engine VM's
 * lease: resource `<vmId>` in lockspace hosted-engine, or any resource in another
 * lockspace (the lease in lockspace `<sdUUID>`, named by the disk's volume). A resource
 * sanlock lists with ` ADD` is an acquire still in progress (its `resources_add` list),
 * not a lease held: every host's agent trying to take over shows one while the dead
 * host's lease has not expired, and each of those acquires fails. ` REM` (a release in
 * progress) and ` ORPHAN` still hold the lease on disk and count.
 */
export function holdsEngineLease(clientStatus: string, vmId: string): boolean {
  return clientStatus
    .split("\n")
    .some(
      (l) =>
        /^r /.test(l) &&
        !/ ADD$/.test(l.trimEnd()) &&
        (!l.startsWith("r hosted-engine:") || l.includes(vmId)),
    );
}
