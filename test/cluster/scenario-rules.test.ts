/**
 * The demo scenarios' success rules (lab/demo/scenario-rules.ts) and the run-interval
 * overlap check (lab/demo/run-tracker.ts), each on its own: what passes, and every way
 * each rule fails.
 */
import { describe, expect, it } from "vitest";
import { findOutages, findOverlaps, RunTracker } from "../../lab/demo/run-tracker.js";
import {
  changeDisturbedEngine,
  engineUpHost,
  failoverBoundSeconds,
  holdsEngineLease,
  raceNotForced,
  raceProgress,
  restartDisturbedVm,
  storageLossFailure,
} from "../../lab/demo/scenario-rules.js";

const up = { state: "EngineUp", health: "good" };

describe("engine up", () => {
  it("one hypervisor running it, that host EngineUp with good health", () => {
    expect(engineUpHost([2], new Map([[2, up]]))).toBe(2);
  });
  it("not when it runs twice, nowhere, on an excluded host, starting, or with bad health", () => {
    expect(
      engineUpHost(
        [1, 2],
        new Map([
          [1, up],
          [2, up],
        ]),
      ),
    ).toBeUndefined();
    expect(engineUpHost([], new Map([[1, up]]))).toBeUndefined();
    expect(engineUpHost([2], new Map([[2, up]]), [2])).toBeUndefined();
    expect(
      engineUpHost([2], new Map([[2, { state: "EngineStarting", health: "good" }]])),
    ).toBeUndefined();
    expect(engineUpHost([2], new Map([[2, { state: "EngineUp", health: "bad" }]]))).toBeUndefined();
    expect(engineUpHost([2], new Map())).toBeUndefined();
  });
});

describe("split-brain race settled (from logged transitions)", () => {
  const t = (state: string, atMs: number) => ({ state, atMs });
  const loop = 1000;
  it("waits for a host that saw the flag clear a loop late and has not raced yet", () => {
    // the failure seen in CI: host1 started the VM; hosts 2 and 3, 1.2 s behind, were
    // still in EngineDown on their way to EngineStart
    const log = new Map([
      [
        1,
        [
          t("ReinitializeFSM", 0),
          t("EngineDown", 1000),
          t("EngineStart", 2000),
          t("EngineStarting", 2200),
          t("EngineUp", 3300),
        ],
      ],
      [2, [t("ReinitializeFSM", 1200), t("EngineDown", 2200)]],
      [3, [t("ReinitializeFSM", 1200), t("EngineDown", 2200)]],
    ]);
    expect(raceProgress(log, [1, 2, 3], 3400, loop)).toEqual({ attempted: [1], settled: false });
  });
  it("counts every host that entered EngineStart, settled once the losers held EngineDown for two loops", () => {
    const log = new Map([
      [
        1,
        [
          t("ReinitializeFSM", 0),
          t("EngineDown", 1000),
          t("EngineStart", 2000),
          t("EngineUp", 3300),
        ],
      ],
      [
        2,
        [
          t("ReinitializeFSM", 1200),
          t("EngineDown", 2200),
          t("EngineStart", 3200),
          t("EngineDown", 3300),
        ],
      ],
      [
        3,
        [
          t("ReinitializeFSM", 1200),
          t("EngineDown", 2200),
          t("EngineStart", 3250),
          t("EngineDown", 3400),
        ],
      ],
    ]);
    expect(raceProgress(log, [1, 2, 3], 5000, loop)).toEqual({
      attempted: [1, 2, 3],
      settled: false,
    });
    expect(raceProgress(log, [1, 2, 3], 5400, loop)).toEqual({
      attempted: [1, 2, 3],
      settled: true,
    });
  });
  it("is not settled while a host logged nothing since the flag cleared (still in maintenance)", () => {
    const log = new Map([[1, [t("EngineUp", 0)]]]);
    expect(raceProgress(log, [1, 2], 10_000, loop).settled).toBe(false);
  });
});

describe("split-brain race forced", () => {
  it("holds with two attempts, or one attempt and one lease refusal", () => {
    expect(raceNotForced(2, 0)).toBeUndefined();
    expect(raceNotForced(1, 1)).toBeUndefined();
  });
  it("fails with a single attempt", () => {
    expect(raceNotForced(1, 0)).toBe("only one host attempted to start: the race was not forced");
  });
});

describe("restart left the VM untouched", () => {
  it("holds when the VM stayed on the host in every sample since", () => {
    expect(restartDisturbedVm(1, [1], 20, 10, [3, 4])).toBeUndefined();
  });
  it("fails when it moved, ran twice, no sample was taken, or a sample found it down", () => {
    expect(restartDisturbedVm(1, [2], 20, 10, [])).toBe(
      "engine VM expected on host1 only, found on [2]",
    );
    expect(restartDisturbedVm(1, [1, 2], 20, 10, [])).toBe(
      "engine VM expected on host1 only, found on [1,2]",
    );
    expect(restartDisturbedVm(1, [1], 10, 10, [])).toBe(
      "no hypervisor sample was taken during the restart",
    );
    expect(restartDisturbedVm(1, [1], 20, 10, [9, 11, 12])).toBe(
      "the engine VM was down in 2 samples during the restart",
    );
  });
});

describe("storage loss", () => {
  const base = {
    victim: 1,
    sanlockLog: "2026-11-26 00:58:41 2034 [5864]: s1 kill 6009 sig 100 count 1\n",
    damaged: [] as string[],
    hosts: [1, 2, 3],
    onWhiteboard: new Set([1, 2, 3]),
  };
  it("holds when sanlock ran the kill path and every segment is intact", () => {
    expect(storageLossFailure(base)).toBeUndefined();
  });
  it("fails when the VM went away without the kill path (a SIGKILL is sig 9)", () => {
    expect(storageLossFailure({ ...base, sanlockLog: "s1 kill 6009 sig 9 count 1\n" })).toMatch(
      /^host1's sanlock did not run the kill path/,
    );
  });
  it("fails on a damaged segment, a lost victim block or another host's missing segment", () => {
    expect(storageLossFailure({ ...base, damaged: ["2:bad-crc"] })).toBe(
      "whiteboard segments damaged: 2:bad-crc",
    );
    expect(storageLossFailure({ ...base, onWhiteboard: new Set([2, 3]) })).toBe(
      "host1's last block is gone from the whiteboard",
    );
    expect(storageLossFailure({ ...base, onWhiteboard: new Set([1, 2]) })).toBe(
      "host3's segment is missing from the whiteboard",
    );
  });
});

describe("run intervals from frequent looks", () => {
  it("a handover finds no overlap; a 150 ms double run between two 500 ms samples is found", () => {
    const t = new RunTracker();
    // host1 runs until 10.0, host2 from 10.2: a clean handover
    for (let ms = 0; ms <= 12_000; ms += 100) {
      const s = ms / 1000;
      t.observe(1, s < 10, s);
      t.observe(2, s >= 10.2, s);
    }
    expect(t.overlaps(12)).toEqual([]);
    // host3 runs from 10.6 to 10.75: looks at 10.6 and 10.7 see it; the samples at
    // 10.5 and 11.0 would not
    const u = new RunTracker();
    for (let ms = 10_000; ms <= 11_000; ms += 100) {
      const s = ms / 1000;
      u.observe(2, true, s);
      u.observe(3, s >= 10.6 && s <= 10.75, s);
    }
    const o = u.overlaps(11);
    expect(o).toHaveLength(1);
    expect(o[0]!.hosts).toEqual([2, 3]);
    expect(o[0]!.from).toBeCloseTo(10.6);
    expect(o[0]!.to).toBeCloseTo(10.8);
  });

  it("open intervals run until now; intervals of one host never overlap themselves", () => {
    expect(
      findOverlaps(
        [
          { host: 1, from: 0, to: undefined },
          { host: 2, from: 5, to: undefined },
          { host: 1, from: -10, to: -5 },
        ],
        8,
      ),
    ).toEqual([{ hosts: [1, 2], from: 5, to: 8 }]);
  });
});

describe("outages (no host runs the engine VM)", () => {
  it("none while some host's interval covers every moment, hand-overs included", () => {
    expect(
      findOutages(
        [
          { host: 1, from: 0, to: 5 },
          { host: 2, from: 4, to: undefined },
        ],
        1,
        10,
      ),
    ).toEqual([]);
  });

  it("the gaps between intervals, before the first and after the last, clipped to the window", () => {
    expect(
      findOutages(
        [
          { host: 2, from: 6, to: 8 },
          { host: 1, from: 2, to: 4 },
          { host: 1, from: -5, to: -1 },
        ],
        0,
        10,
      ),
    ).toEqual([
      { from: 0, to: 2 },
      { from: 4, to: 6 },
      { from: 8, to: 10 },
    ]);
    expect(findOutages([], 3, 7)).toEqual([{ from: 3, to: 7 }]);
  });

  it("from a tracker: a VM stopped on host1 and started 2 s later on host2 is one outage", () => {
    const t = new RunTracker();
    for (let ms = 0; ms <= 6000; ms += 100) {
      const s = ms / 1000;
      t.observe(1, s < 2, s);
      t.observe(2, s >= 4, s);
    }
    const o = findOutages(t.intervals, 0, 6);
    expect(o).toHaveLength(1);
    expect(o[0]!.from).toBeCloseTo(2);
    expect(o[0]!.to).toBeCloseTo(4);
  });
});

describe("a cluster-wide software change (migration, rollback)", () => {
  const bound = failoverBoundSeconds(68, 10);
  it("a normal failover: 1.5 × host-dead plus one VM start", () => {
    expect(bound).toBe(112);
  });

  it("passes with no outage, or one within a failover", () => {
    expect(changeDisturbedEngine({ overlaps: [], outages: [], boundSeconds: bound })).toBe(
      undefined,
    );
    expect(
      changeDisturbedEngine({ overlaps: [], outages: [{ from: 10, to: 80 }], boundSeconds: bound }),
    ).toBe(undefined);
  });

  it("fails when the VM ran twice, went down twice, or stayed down longer than a failover", () => {
    expect(
      changeDisturbedEngine({
        overlaps: [{ hosts: [1, 2], from: 3, to: 3.2 }],
        outages: [],
        boundSeconds: bound,
      }),
    ).toBe("the engine VM ran on hosts 1 and 2 at once (3.0–3.2 s)");
    expect(
      changeDisturbedEngine({
        overlaps: [],
        outages: [
          { from: 1, to: 2 },
          { from: 5, to: 6 },
        ],
        boundSeconds: bound,
      }),
    ).toBe("the engine VM was down 2 times (1.0–2.0 s, 5.0–6.0 s)");
    expect(
      changeDisturbedEngine({ overlaps: [], outages: [{ from: 0, to: 120 }], boundSeconds: bound }),
    ).toBe("the engine VM was down 120.0 s, longer than a normal failover (112.0 s)");
  });
});

describe("who holds the engine lease, from sanlock client status", () => {
  const vm = "50e59bbd-f829-4761-ba1b-6db1a6acc3b8";
  const s = "s hosted-engine:2:/dom/dom_md/ids:0\np 4242 ovirt-ha-agent";
  it("a held resource named by the VM in hosted-engine, or any in another lockspace", () => {
    expect(holdsEngineLease(`${s}\nr hosted-engine:${vm}:/dom/lease:0:3 p 4242`, vm)).toBe(true);
    expect(holdsEngineLease(`${s}\nr 475e7578:903fac2f:/dom/images/x.lease:0:5 p 4242`, vm)).toBe(
      true,
    );
    expect(holdsEngineLease(`${s}\nr hosted-engine:other:/dom/lease:0:3 p 4242`, vm)).toBe(false);
    expect(holdsEngineLease(s, vm)).toBe(false);
  });

  it("an acquire in progress (ADD) is not a lease held; a release in progress (REM) still is", () => {
    // every host retrying the takeover shows one of these until the dead host's lease expires
    expect(holdsEngineLease(`${s}\nr hosted-engine:${vm}:/dom/lease:0:0 p 4242 ADD`, vm)).toBe(
      false,
    );
    expect(holdsEngineLease(`${s}\nr hosted-engine:${vm}:/dom/lease:0:3 p 4242 REM`, vm)).toBe(
      true,
    );
    expect(holdsEngineLease(`${s}\nr hosted-engine:${vm}:/dom/lease:0:3 p 4242 ORPHAN`, vm)).toBe(
      true,
    );
  });
});
