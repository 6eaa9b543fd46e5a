import type { BrokerStatus, HostStatus } from "../broker/status.js";
import type { AgentConf } from "../common/agent-conf.js";
import { hostDeadSeconds } from "../sanlock/timeouts.js";
import { parseCtime } from "../storage/whiteboard/ctime.js";
import { readFacts } from "../storage/whiteboard/published-facts.js";

/**
 * `he-ha doctor`: the checks the original leaves to an outage. Each check is a pure
 * function over the facts gathered once (gather.ts) and returns its findings; a check
 * with nothing to say returns none.
 */

export type Severity = "info" | "warning" | "error";

export interface Finding {
  severity: Severity;
  check: CheckName;
  message: string;
  /** what to do about it ("" for info) */
  fix: string;
}

/** What the checks read: the broker's view, this host's configuration and its system. */
export interface DoctorFacts {
  status: BrokerStatus;
  /** this host's effective agent.conf and its digests */
  conf: AgentConf;
  digests: { score: string; timing: string };
  /** hosted-engine.conf sanlock_io_timeout */
  ioTimeout: number;
  /** this machine's hostname */
  hostname: string;
  /** wall clock, unix seconds */
  nowWall: number;
  /** a host block unchanged this long is stale */
  staleAfterSeconds: number;
  /** hosted-engine.conf network_test and its target */
  network: { method: string; target: string };
  /** the broker's recent whiteboard read durations, seconds */
  readSeconds: readonly number[];
  /** the metadata volume's logical sector size and the domain's BLOCK_SIZE, null: unknown */
  sector: { volume: string; logical: number | null; domainBlockSize: number | null };
  watchdog: { device: string; present: boolean; wdmdRunning: boolean };
  /** qemu.conf lock_manager and qemu-sanlock.conf keys; null: the file is absent */
  libvirt: {
    qemuConf: string;
    lockManager: string | null;
    sanlockConf: ReadonlyMap<string, string> | null;
  };
  /** the agent's VM backend and, on a VDSM host, whether VDSM answered */
  vdsm: { backend: "vdsm" | "libvirt"; reachable: boolean | null; error: string | null };
  selinux: { enabled: boolean; moduleLoaded: boolean | null };
}

/** our SELinux policy module (packaging/selinux) */
export const SELINUX_MODULE = "hosted-engine-ha-killpath";

export const CHECK_NAMES = [
  "conf-equal",
  "host-ids",
  "stale-hosts",
  "network-test",
  "storage-latency",
  "sector-size",
  "clock-skew",
  "watchdog",
  "lock-manager",
  "vdsm",
  "selinux",
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

const finding = (severity: Severity, check: CheckName, message: string, fix = ""): Finding => ({
  severity,
  check,
  message,
  fix,
});

/** Host blocks that are being written (alive by this broker's clock). */
const aliveHosts = (s: BrokerStatus) => s.hosts.filter((h) => h.timestamp_changing);

/** Score weights and timeouts must be equal on every host (the digests each host publishes). */
export function checkConfEqual(f: DoctorFacts): Finding[] {
  const out: Finding[] = [];
  const silent: number[] = [];
  for (const h of aliveHosts(f.status)) {
    if (h.host_id === f.status.host_id) continue;
    const facts = readFacts(h.extra);
    if (facts.scoreDigest === null || facts.timingDigest === null) {
      silent.push(h.host_id);
      continue;
    }
    for (const [section, theirs, ours] of [
      ["score", facts.scoreDigest, f.digests.score],
      ["timing", facts.timingDigest, f.digests.timing],
    ] as const) {
      if (theirs !== ours) {
        out.push(
          finding(
            "error",
            "conf-equal",
            `host ${h.host_id} (${h.hostname}) runs with another agent.conf [${section}] than this host (digest ${theirs}, here ${ours}): hosts compare scores and time each other out with these values, so they must be equal`,
            `make /etc/ovirt-hosted-engine-ha/agent.conf [${section}] the same on every host and restart ovirt-ha-agent there`,
          ),
        );
      }
    }
  }
  if (silent.length > 0) {
    out.push(
      finding(
        "info",
        "conf-equal",
        `host(s) ${silent.join(", ")} publish no configuration digest (an older or Python agent): their agent.conf cannot be compared`,
      ),
    );
  }
  return out;
}

/** Each host id belongs to one host: our id is ours, and no hostname holds two live ids. */
export function checkHostIds(f: DoctorFacts): Finding[] {
  const out: Finding[] = [];
  const own = f.status.hosts.find((h) => h.host_id === f.status.host_id);
  if (own && own.hostname !== f.hostname) {
    out.push(
      finding(
        "error",
        "host-ids",
        `host id ${own.host_id} is published by "${own.hostname}", but this host (${f.hostname}) is configured with that id too: two hosts writing one segment overwrite each other`,
        "give each host its own host_id in /etc/ovirt-hosted-engine/hosted-engine.conf (the id oVirt's engine assigned it)",
      ),
    );
  }
  const byName = new Map<string, number[]>();
  for (const h of aliveHosts(f.status)) {
    byName.set(h.hostname, [...(byName.get(h.hostname) ?? []), h.host_id]);
  }
  for (const [name, ids] of byName) {
    if (ids.length > 1) {
      out.push(
        finding(
          "error",
          "host-ids",
          `hostname ${name} is alive under host ids ${ids.join(" and ")}`,
          "give each host its own host_id in hosted-engine.conf",
        ),
      );
    }
  }
  return out;
}

/** Seconds since a host's block last changed: by this broker's clock, else by its wall time. */
function blockAge(h: HostStatus, nowWall: number): number | null {
  if (h.updated_age_seconds !== null) return h.updated_age_seconds;
  const wall = blockWallTime(h);
  return wall === null ? null : nowWall - wall;
}

/** The writer's wall clock when it wrote the block (`timestamp=<n> (<ctime>)`). */
function blockWallTime(h: HostStatus): number | null {
  const m = /\((.*)\)\s*$/.exec(h.extra.timestamp ?? "");
  return m ? parseCtime(m[1]!) : null;
}

/** Blocks of hosts dead longer than staleAfterSeconds ("unknown stale-data" forever). */
export function checkStaleHosts(f: DoctorFacts): Finding[] {
  const out: Finding[] = [];
  for (const h of f.status.hosts) {
    if (h.timestamp_changing || h.host_id === f.status.host_id) continue;
    const age = blockAge(h, f.nowWall);
    if (age === null || age < f.staleAfterSeconds) continue;
    out.push(
      finding(
        "warning",
        "stale-hosts",
        `host ${h.host_id} (${h.hostname}) has not updated its block for ${Math.round(age)} s: it shows as "unknown stale-data" until its block is removed`,
        `if that host is gone for good: hosted-engine --set-maintenance --mode=global; hosted-engine --clean-metadata --force-cleanup --host-id=${h.host_id}; hosted-engine --set-maintenance --mode=none`,
      ),
    );
  }
  return out;
}

/** The network test (the broker's network monitor, by the configured method) passes. */
export function checkNetworkTest(f: DoctorFacts): Finding[] {
  if (f.network.method === "none") {
    return [finding("info", "network-test", "network_test=none: the network is not scored")];
  }
  const monitor = f.status.local.monitors.find((m) => m.type === "network");
  const value = monitor?.value === null || monitor === undefined ? null : Number(monitor.value);
  if (value === null || !Number.isFinite(value)) {
    return [
      finding(
        "warning",
        "network-test",
        `the network monitor (${f.network.method} ${f.network.target}) has no result yet`,
        "run he-ha doctor again in a minute; if it stays, see the broker log",
      ),
    ];
  }
  if (value >= 1) return [];
  const points = Math.trunc((1 - value) * f.conf.score["network-score-penalty"]);
  return [
    finding(
      value === 0 ? "error" : "warning",
      "network-test",
      `the network test (${f.network.method} to ${f.network.target}) passes ${Math.round(value * 100)} %: this host loses ${points} points of its score`,
      `make ${f.network.target} answer ${f.network.method} from this host, or set network_test/gateway in hosted-engine.conf to a target that does`,
    ),
  ];
}

/** The broker's whiteboard reads against sanlock's io_timeout and the host-alive timeout. */
export function checkStorageLatency(f: DoctorFacts): Finding[] {
  if (f.readSeconds.length === 0) {
    return [finding("info", "storage-latency", "no whiteboard read timed yet")];
  }
  const sorted = [...f.readSeconds].sort((a, b) => a - b);
  const worst = sorted[sorted.length - 1]!;
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const alive = f.conf.timing.host_alive_timeout;
  const stats = `median ${median.toFixed(3)} s, slowest ${worst.toFixed(3)} s of ${sorted.length} reads`;
  if (worst >= alive / 2) {
    return [
      finding(
        "error",
        "storage-latency",
        `whiteboard reads are slow against host_alive_timeout ${alive} s (${stats}): hosts may be called dead while alive`,
        "fix the storage path (multipath, network, server load) before relying on failover",
      ),
    ];
  }
  if (worst >= f.ioTimeout) {
    return [
      finding(
        "warning",
        "storage-latency",
        `a whiteboard read took longer than sanlock's io_timeout ${f.ioTimeout} s (${stats}): sanlock renewals on this storage may fail and fence the host`,
        "find why the storage is slow (its latency, not the HA services, decides)",
      ),
    ];
  }
  return [];
}

/** The domain's block size matches the storage's logical sector size. */
export function checkSectorSize(f: DoctorFacts): Finding[] {
  const { logical, domainBlockSize, volume } = f.sector;
  if (logical === null || domainBlockSize === null) {
    return [
      finding(
        "info",
        "sector-size",
        `sector size not checked: ${logical === null ? `the sector size of ${volume} cannot be measured (no O_DIRECT there)` : "no domain metadata (dom_md/metadata) beside the volume"}`,
      ),
    ];
  }
  if (
    logical === domainBlockSize ||
    (logical < domainBlockSize && domainBlockSize % logical === 0)
  ) {
    return [];
  }
  return [
    finding(
      "error",
      "sector-size",
      `the storage under ${volume} has ${logical}-byte sectors but the domain says BLOCK_SIZE=${domainBlockSize}: sanlock and direct I/O on it fail`,
      "recreate the hosted-engine storage domain with the storage's sector size (4K storage needs a 4K domain)",
    ),
  ];
}

/** Clock skew between hosts: each block's wall time against when this broker saw it. */
export function checkClockSkew(f: DoctorFacts): Finding[] {
  const out: Finding[] = [];
  // a block is written up to one loop and read up to one storage cycle before we see it
  const slack = f.conf.timing.loop_delay + f.conf.timing.broker_storage_cycle + 5;
  for (const h of aliveHosts(f.status)) {
    const wall = blockWallTime(h);
    if (wall === null || h.updated_age_seconds === null) continue;
    const skew = wall - (f.nowWall - h.updated_age_seconds);
    if (Math.abs(skew) <= slack) continue;
    out.push(
      finding(
        "warning",
        "clock-skew",
        `host ${h.host_id} (${h.hostname})'s clock is ${Math.round(Math.abs(skew))} s ${skew > 0 ? "ahead of" : "behind"} this host's (or it runs in another time zone): logs and the published times of the hosts disagree`,
        "run chrony (or ntpd) against the same servers on every host",
      ),
    );
  }
  return out;
}

/** sanlock needs the watchdog device and wdmd to fence a host that lost its storage. */
export function checkWatchdog(f: DoctorFacts): Finding[] {
  const out: Finding[] = [];
  if (!f.watchdog.present) {
    out.push(
      finding(
        "error",
        "watchdog",
        `no watchdog device (${f.watchdog.device}): a host that loses its storage cannot be reset, and the engine VM's lease is freed only after ${hostDeadSeconds(f.ioTimeout)} s by trust`,
        "load a watchdog driver (the hardware's, or softdog: modprobe softdog)",
      ),
    );
  }
  if (!f.watchdog.wdmdRunning) {
    out.push(
      finding(
        "error",
        "watchdog",
        "wdmd is not running: sanlock cannot arm the watchdog for its leases",
        "systemctl enable --now wdmd",
      ),
    );
  }
  return out;
}

/** libvirt's lock manager as VDSM configures it (lock_manager "sanlock", no auto leases). */
export function checkLockManager(f: DoctorFacts): Finding[] {
  const { lockManager, sanlockConf, qemuConf } = f.libvirt;
  if (f.vdsm.backend !== "vdsm" && lockManager !== "sanlock") {
    return [
      finding(
        "info",
        "lock-manager",
        `libvirt's sanlock lock manager is off (${qemuConf}); the agent holds the engine VM's lease itself`,
      ),
    ];
  }
  if (lockManager !== "sanlock") {
    return [
      finding(
        "error",
        "lock-manager",
        `${qemuConf} has lock_manager ${lockManager === null ? "unset" : `"${lockManager}"`}; VDSM sets "sanlock", which guards the engine VM's lease`,
        "vdsm-tool configure --module libvirt --force; systemctl restart libvirtd",
      ),
    ];
  }
  const wrong = ["auto_disk_leases", "require_lease_for_disks"].filter(
    (k) => sanlockConf?.get(k) !== "0",
  );
  if (wrong.length === 0) return [];
  return [
    finding(
      "warning",
      "lock-manager",
      `qemu-sanlock.conf: ${wrong.map((k) => `${k}=${sanlockConf?.get(k) ?? "unset"}`).join(", ")}; VDSM sets both to 0 (leases are given per VM)`,
      "vdsm-tool configure --module libvirt --force; systemctl restart libvirtd",
    ),
  ];
}

/** On a VDSM host, VDSM must answer: the agent starts and watches the VM through it. */
export function checkVdsm(f: DoctorFacts): Finding[] {
  if (f.vdsm.backend !== "vdsm") {
    return [finding("info", "vdsm", "not a VDSM host: the engine VM is run through libvirt")];
  }
  if (f.vdsm.reachable) return [];
  return [
    finding(
      "error",
      "vdsm",
      `VDSM does not answer${f.vdsm.error ? `: ${f.vdsm.error}` : ""}: the agent can neither start nor watch the engine VM`,
      "systemctl status vdsmd; journalctl -u vdsmd",
    ),
  ];
}

/** With SELinux on, the HA services' policy module must be loaded. */
export function checkSelinux(f: DoctorFacts): Finding[] {
  if (!f.selinux.enabled) return [finding("info", "selinux", "SELinux is not enabled here")];
  if (f.selinux.moduleLoaded) return [];
  return [
    finding(
      "error",
      "selinux",
      `SELinux is on but the ${SELINUX_MODULE} policy module is not loaded: sanlock may not run the agent's kill path, so a host that loses its storage keeps the engine VM running`,
      `build and load /usr/share/hosted-engine-ha/selinux/${SELINUX_MODULE}.te (the commands are at its top): make -f /usr/share/selinux/devel/Makefile ${SELINUX_MODULE}.pp; semodule -i ${SELINUX_MODULE}.pp`,
    ),
  ];
}

const CHECKS: Readonly<Record<CheckName, (f: DoctorFacts) => Finding[]>> = {
  "conf-equal": checkConfEqual,
  "host-ids": checkHostIds,
  "stale-hosts": checkStaleHosts,
  "network-test": checkNetworkTest,
  "storage-latency": checkStorageLatency,
  "sector-size": checkSectorSize,
  "clock-skew": checkClockSkew,
  watchdog: checkWatchdog,
  "lock-manager": checkLockManager,
  vdsm: checkVdsm,
  selinux: checkSelinux,
};

/** Every check over the facts, in CHECK_NAMES order. */
export function runChecks(f: DoctorFacts): Finding[] {
  return CHECK_NAMES.flatMap((c) => CHECKS[c](f));
}

/** The exit code for monitoring: 2 with an error, 1 with a warning, else 0. */
export function exitCode(findings: readonly Finding[]): number {
  if (findings.some((x) => x.severity === "error")) return 2;
  if (findings.some((x) => x.severity === "warning")) return 1;
  return 0;
}
