import { describe, expect, it } from "vitest";
import { engineStatusRank } from "../../src/agent/engine-rank.js";
import { appendHistory, type Collection, historySpans } from "../../src/agent/history.js";
import { aliveHostIds } from "../../src/agent/liveness.js";
import { bestEngine, bestRemoteScore } from "../../src/agent/selection.js";
import type { EngineStatus } from "../../src/storage/whiteboard/types.js";
import {
  DOWN,
  DOWN_MISSING,
  DOWN_UNEXPECTED,
  hostBlock,
  localStats,
  PAUSED,
  UNKNOWN,
  UP_BAD,
  UP_GOOD,
} from "./world.js";

/** a collection at `at` where host id → its block timestamp (and optional status/score) */
function at(
  t: number,
  hosts: Record<number, number | { ts: number; engine?: EngineStatus; score?: number }>,
  local: EngineStatus = DOWN,
): Collection {
  return {
    collectStart: t,
    collectFinish: t,
    hosts: new Map(
      Object.entries(hosts).map(([id, v]) => {
        const o = typeof v === "number" ? { ts: v } : v;
        return [Number(id), hostBlock(Number(id), o.score ?? 3400, o.engine ?? DOWN, o.ts)];
      }),
    ),
    globalMaintenance: false,
    tooNew: false,
    local: localStats({ engine: local }),
  };
}

/** collections every 10 s from 0 to `until`, built by `f` */
function run(until: number, f: (t: number) => Collection): Collection[] {
  let h: Collection[] = [];
  for (let t = 0; t <= until; t += 10) h = appendHistory(h, f(t), 900);
  return h;
}

describe("liveness (behaviour.md §3)", () => {
  it("nobody is alive until there is more than 60 s of history", () => {
    const h = run(60, (t) => at(t, { 2: t + 5000 }));
    expect(aliveHostIds(h, 60)).toEqual([]);
    const h2 = appendHistory(h, at(70, { 2: 5070 }), 900);
    expect(aliveHostIds(h2, 60)).toEqual([2]);
  });

  it("a host whose timestamp did not change within 60 s is dead, whatever its clock says", () => {
    // host 3 published once with a timestamp far in the future, then stopped
    const h = run(200, (t) => at(t, { 2: t, 3: t < 100 ? t + 99999 : 99999 + 90 }));
    expect(aliveHostIds(h, 60)).toEqual([2]);
  });

  it("a host that stopped less than 60 s ago is still alive", () => {
    const h = run(200, (t) => at(t, { 2: Math.min(t, 170) }));
    expect(aliveHostIds(h, 60)).toEqual([2]);
  });

  it("a host that appeared recently is alive", () => {
    const h = run(200, (t) => at(t, t >= 190 ? { 4: t } : {}));
    expect(aliveHostIds(h, 60)).toEqual([4]);
  });

  it("history keeps 15 minutes of collections", () => {
    const h = run(2000, (t) => at(t, {}));
    expect(h[0]!.collectStart).toBe(2000);
    expect(h[h.length - 1]!.collectStart).toBe(1110);
    expect(historySpans(h, 60)).toBe(true);
    // enough history exactly when liveness has a collection to compare with: one that
    // finished more than 60 s before the newest started (8 collections 10 s apart)
    expect(historySpans(h.slice(0, 7), 60)).toBe(false);
    expect(historySpans(h.slice(0, 8), 60)).toBe(true);
  });

  it("the agent decides only once liveness can see other hosts (no start attempt blind)", () => {
    const h = run(2000, (t) => at(t, { 2: { ts: t, engine: UP_GOOD } }));
    for (let n = 1; n <= 10; n++) {
      const slice = h.slice(0, n);
      // decisions wait for history exactly as long as host 2 cannot yet be seen alive
      expect(historySpans(slice, 60)).toBe(aliveHostIds(slice, 60).includes(2));
    }
  });
});

describe("best engine and best score (behaviour.md §5)", () => {
  it("ranks unknown < down < up+Paused < up+bad < up+good", () => {
    expect(
      [UNKNOWN, DOWN, DOWN_UNEXPECTED, DOWN_MISSING, PAUSED, UP_BAD, UP_GOOD].map(engineStatusRank),
    ).toEqual([0, 1, 1, 1, 2, 3, 4]);
    expect(engineStatusRank(undefined)).toBe(0);
  });

  it("the local engine wins ties; a strictly better alive remote wins", () => {
    const c = at(100, { 2: { ts: 1, engine: UP_BAD }, 3: { ts: 1, engine: UP_GOOD } }, UP_BAD);
    expect(bestEngine(1, c, [2])).toEqual({ hostId: 1, status: UP_BAD });
    expect(bestEngine(1, c, [2, 3])).toEqual({ hostId: 3, status: UP_GOOD });
    expect(bestEngine(1, c, [])).toEqual({ hostId: 1, status: UP_BAD });
  });

  it("dead hosts never count", () => {
    const c = at(100, { 2: { ts: 1, engine: UP_GOOD, score: 9999 } });
    expect(bestEngine(1, c, []).hostId).toBe(1);
    expect(bestRemoteScore(c, [])).toBeNull();
  });

  it("best remote score: highest, lowest id on ties, none when it is 0", () => {
    const c = at(100, {
      2: { ts: 1, score: 2000 },
      3: { ts: 1, score: 3000 },
      4: { ts: 1, score: 3000 },
      5: { ts: 1, score: 0 },
    });
    expect(bestRemoteScore(c, [2, 3, 4])).toEqual({
      hostId: 3,
      score: 3000,
      hostname: "host3.example.com",
    });
    expect(bestRemoteScore(c, [5])).toBeNull();
  });
});
