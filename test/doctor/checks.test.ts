import { describe, expect, it } from "vitest";
import {
  type AgentConf,
  agentConfDigests,
  DEFAULT_SCORE_CONFIG,
} from "../../src/common/agent-conf.js";
import { DEFAULT_TIMING } from "../../src/common/timing.js";
import { type DoctorFacts, exitCode, runChecks } from "../../src/doctor/checks.js";
import { formatFindings } from "../../src/doctor/format.js";
import { UP_GOOD } from "../agent/world.js";
import {
  DEFAULT_CONF,
  idle,
  type Published,
  STATUS_NOW,
  statusOf,
  TIME_EPOCH,
} from "../explain/agent-blocks.js";

const HEALTHY: Published[] = [
  { id: 1, data: idle("EngineUp"), local: { engine: UP_GOOD }, age: 1 },
  { id: 2, data: idle("EngineDown"), age: 2 },
];

/** Facts of host 1 on a healthy cluster: every check silent but for notes. */
function facts(hosts: Published[] = HEALTHY, over: Partial<DoctorFacts> = {}): DoctorFacts {
  return {
    status: statusOf(hosts).status,
    conf: DEFAULT_CONF,
    digests: agentConfDigests(DEFAULT_CONF),
    ioTimeout: 10,
    hostname: "host1.example.com",
    nowWall: TIME_EPOCH + STATUS_NOW,
    staleAfterSeconds: 3600,
    network: { method: "ping", target: "192.0.2.1" },
    readSeconds: [0.01, 0.02, 0.015],
    sector: { volume: "/md", logical: 512, domainBlockSize: 512 },
    watchdog: { device: "/dev/watchdog", present: true, wdmdRunning: true },
    libvirt: {
      qemuConf: "/etc/libvirt/qemu.conf",
      lockManager: "sanlock",
      sanlockConf: new Map([
        ["auto_disk_leases", "0"],
        ["require_lease_for_disks", "0"],
      ]),
    },
    vdsm: { backend: "vdsm", reachable: true, error: null },
    selinux: { enabled: true, moduleLoaded: true },
    ...over,
  };
}

const problems = (f: DoctorFacts) => runChecks(f).filter((x) => x.severity !== "info");

describe("he-ha doctor checks (pure, over gathered facts)", () => {
  it("a healthy cluster: no finding at all, exit 0", () => {
    const all = runChecks(facts());
    expect(all).toEqual([]);
    expect(exitCode(all)).toBe(0);
    expect(formatFindings(all)).toBe("No problem found.\n");
  });

  it("different score weights on another host: an error naming the host and the section", () => {
    const other: AgentConf = {
      score: { ...DEFAULT_SCORE_CONFIG, "network-score-penalty": 1000 },
      timing: DEFAULT_TIMING,
    };
    const f = problems(facts([HEALTHY[0]!, { ...HEALTHY[1]!, conf: other }]));
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ severity: "error", check: "conf-equal" });
    expect(f[0]!.message).toContain(
      "host 2 (host2.example.com) runs with another agent.conf [score]",
    );
    expect(exitCode(f)).toBe(2);
  });

  it("a host dead for longer than N: the exact clean-metadata command", () => {
    // host 3's block stopped changing 2 hours ago (its wall time says so; this broker
    // never saw it change)
    const { status } = statusOf([...HEALTHY, { id: 3, data: idle("EngineDown"), age: 7200 }]);
    status.hosts[2]!.updated_age_seconds = null;
    const f = problems(facts(HEALTHY, { status }));
    expect(f).toHaveLength(1);
    expect(f[0]!.check).toBe("stale-hosts");
    expect(f[0]!.message).toContain(
      "host 3 (host3.example.com) has not updated its block for 7200 s",
    );
    expect(f[0]!.fix).toContain("hosted-engine --clean-metadata --force-cleanup --host-id=3");
    // younger than N: nothing
    expect(problems(facts(HEALTHY, { status, staleAfterSeconds: 8000 }))).toEqual([]);
  });

  it("a clock two minutes ahead on host 2: a clock-skew warning", () => {
    const f = problems(facts([HEALTHY[0]!, { ...HEALTHY[1]!, clockOffset: 120 }]));
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ severity: "warning", check: "clock-skew" });
    expect(f[0]!.message).toContain("host 2 (host2.example.com)'s clock is 120 s ahead of");
  });

  it("our host id published by another hostname: two hosts share an id", () => {
    const f = problems(facts(HEALTHY, { hostname: "other.example.com" }));
    expect(f.map((x) => [x.check, x.severity])).toEqual([["host-ids", "error"]]);
  });

  it("the network test failing by the configured method, its points named", () => {
    const { status } = statusOf(HEALTHY, 1, { network: "0.0" });
    const f = problems(facts(HEALTHY, { status }));
    expect(f[0]).toMatchObject({ severity: "error", check: "network-test" });
    expect(f[0]!.message).toBe(
      "the network test (ping to 192.0.2.1) passes 0 %: this host loses 1600 points of its score",
    );
  });

  it("storage reads slower than io_timeout, and than half the host-alive timeout", () => {
    expect(problems(facts(HEALTHY, { readSeconds: [0.02, 12] }))[0]).toMatchObject({
      severity: "warning",
      check: "storage-latency",
    });
    expect(problems(facts(HEALTHY, { readSeconds: [0.02, 31] }))[0]).toMatchObject({
      severity: "error",
      check: "storage-latency",
    });
  });

  it("4K storage under a 512-byte domain", () => {
    const f = problems(
      facts(HEALTHY, { sector: { volume: "/md", logical: 4096, domainBlockSize: 512 } }),
    );
    expect(f[0]).toMatchObject({ severity: "error", check: "sector-size" });
  });

  it("no watchdog device, no wdmd, no lock manager, VDSM down, no SELinux module", () => {
    const f = problems(
      facts(HEALTHY, {
        watchdog: { device: "/dev/watchdog", present: false, wdmdRunning: false },
        libvirt: { qemuConf: "/etc/libvirt/qemu.conf", lockManager: null, sanlockConf: null },
        vdsm: { backend: "vdsm", reachable: false, error: "connection refused" },
        selinux: { enabled: true, moduleLoaded: false },
      }),
    );
    expect(f.map((x) => x.check)).toEqual([
      "watchdog",
      "watchdog",
      "lock-manager",
      "vdsm",
      "selinux",
    ]);
    expect(f.every((x) => x.severity === "error" && x.fix !== "")).toBe(true);
    expect(formatFindings(f)).toContain("5 error(s), 0 warning(s).");
  });
});
