import { describe, expect, it } from "vitest";
import { DEFAULT_SCORE_CONFIG, type ScoreConfig } from "../../src/common/agent-conf.js";
import { loadFactor } from "../../src/score/load-factor.js";
import { computeScore, cpuLoadPenalty, type ScoreInput } from "../../src/score/score.js";

const NOW = 5000;

function input(over: Partial<ScoreInput> = {}): ScoreInput {
  return {
    now: NOW,
    confUpToDate: true,
    networkRatio: 1,
    bridgeUp: true,
    cpuLoadHistory: [
      { at: NOW - 20, load: 0.1 },
      { at: NOW, load: 0.1 },
    ],
    freeMemoryMb: 8192,
    vmMemSizeMb: 4096,
    engineRunsHere: false,
    globalMaintenance: false,
    retryCount: 0,
    lastRetryAt: null,
    localMaintenance: false,
    stopped: false,
    state: "EngineDown",
    unexpectedShutdownAt: null,
    ...over,
  };
}

const cfg: ScoreConfig = { ...DEFAULT_SCORE_CONFIG };
const score = (over: Partial<ScoreInput>, c: ScoreConfig = cfg) => computeScore(input(over), c);
const loads = (...values: number[]) =>
  values.map((load, i) => ({ at: NOW - 10 * (values.length - 1 - i), load }));

describe("score (behaviour.md §4)", () => {
  it("a healthy host scores the base score with no penalty", () => {
    expect(score({})).toEqual({ score: 3400, base: 3400, penalties: [] });
  });

  it("config not from shared storage: −1000", () => {
    const r = score({ confUpToDate: false });
    expect(r.score).toBe(2400);
    expect(r.penalties.map((p) => p.name)).toEqual(["not-uptodate-config"]);
  });

  it("network: −1600 × (1 − ratio), truncated", () => {
    expect(score({ networkRatio: 0.6 }).score).toBe(3400 - 640);
    expect(score({ networkRatio: 0 }).score).toBe(1800);
    expect(score({ networkRatio: 0.33 }).score).toBe(3400 - Math.trunc(0.67 * 1600));
  });

  it("management bridge down (or unknown): −600", () => {
    expect(score({ bridgeUp: false }).score).toBe(2800);
    expect(score({ bridgeUp: null }).score).toBe(2800);
  });

  describe("cpu load", () => {
    it("is linear between min and max", () => {
      expect(score({ cpuLoadHistory: loads(0.8, 0.8) }).score).toBe(3400 - 800);
      expect(score({ cpuLoadHistory: loads(0.4, 0.4) }).score).toBe(3400);
    });

    it("is clamped to [0, penalty]", () => {
      expect(score({ cpuLoadHistory: loads(1, 1) }).score).toBe(2400);
      expect(cpuLoadPenalty(0, cfg)).toBe(0);
      expect(cpuLoadPenalty(5, cfg)).toBe(1000);
    });

    it("is a step when min == max", () => {
      const step = { ...cfg, "cpu-load-penalty-min": 0.5, "cpu-load-penalty-max": 0.5 };
      expect(cpuLoadPenalty(0.49, step)).toBe(0);
      expect(cpuLoadPenalty(0.5, step)).toBe(1000);
      expect(score({ cpuLoadHistory: loads(0.6, 0.6) }, step).score).toBe(2400);
    });

    it("averages the history weighted by interval length (trapezoid)", () => {
      // 0..10 s at 0.4→0.4, 10..40 s at 0.4→1.0: area 4 + 21 = 25 over 40 s → 0.625
      const history = [
        { at: 0, load: 0.4 },
        { at: 10, load: 0.4 },
        { at: 40, load: 1.0 },
      ];
      expect(loadFactor(history)).toBeCloseTo(0.625, 10);
      expect(loadFactor([...history].reverse())).toBeCloseTo(0.625, 10);
      // (0.625 − 0.4) / 0.5 × 1000 is 449.99… in floating point: truncated, as the original does
      expect(score({ cpuLoadHistory: history }).score).toBe(3400 - 449);
    });

    it("skips intervals touching a sample without a value; one sample averages to 0", () => {
      expect(loadFactor([{ at: 0, load: 0.9 }])).toBe(0);
      expect(
        loadFactor([
          { at: 0, load: 0.9 },
          { at: 10, load: null },
          { at: 20, load: 0.5 },
        ]),
      ).toBe(0);
      expect(
        loadFactor([
          { at: 0, load: 0.9 },
          { at: 10, load: 0.9 },
          { at: 20, load: null },
        ]),
      ).toBeCloseTo(0.9, 10);
    });
  });

  describe("free memory", () => {
    it("below the VM's memSize: −400", () => {
      const r = score({ freeMemoryMb: 4095 });
      expect(r.score).toBe(3000);
      expect(r.penalties[0]).toMatchObject({
        name: "free-memory",
        points: 400,
        value: 4095,
        threshold: 4096,
        key: "free-memory-score-penalty",
      });
      expect(score({ freeMemoryMb: 4096 }).score).toBe(3400);
      expect(score({ freeMemoryMb: null }).score).toBe(3000);
    });

    it("not applied while the engine runs here", () => {
      expect(score({ freeMemoryMb: 100, engineRunsHere: true }).score).toBe(3400);
    });

    it("not applied in global maintenance", () => {
      expect(score({ freeMemoryMb: 100, globalMaintenance: true }).score).toBe(3400);
    });

    it("not applied without a known memSize", () => {
      expect(score({ freeMemoryMb: 100, vmMemSizeMb: null }).score).toBe(3400);
    });
  });

  describe("engine start retries", () => {
    it("−50 per failed attempt", () => {
      expect(score({ retryCount: 1, lastRetryAt: NOW - 10 }).score).toBe(3350);
      expect(score({ retryCount: 3, lastRetryAt: NOW - 10 }).score).toBe(3250);
    });

    it("more than 3 attempts: 0 until 600 s after the last attempt", () => {
      expect(score({ retryCount: 4, lastRetryAt: NOW - 10 }).score).toBe(0);
      expect(score({ retryCount: 4, lastRetryAt: NOW - 599 }).score).toBe(0);
      expect(score({ retryCount: 4, lastRetryAt: NOW - 600 }).score).toBe(3400);
    });
  });

  describe("forced to 0", () => {
    it.each([
      ["local maintenance", { localMaintenance: true }],
      ["agent stopped", { stopped: true }],
      ["AgentStopped state", { state: "AgentStopped" }],
      ["ReinitializeFSM", { state: "ReinitializeFSM" }],
      ["EngineUnexpectedlyDown", { state: "EngineUnexpectedlyDown" }],
      ["VM died unexpectedly 559 s ago", { unexpectedShutdownAt: NOW - 559 }],
    ] as [string, Partial<ScoreInput>][])("%s", (_name, over) => {
      const r = score(over);
      expect(r.score).toBe(0);
      expect(r.zeroReason).toBeTruthy();
      // the breakdown names the cause and takes the whole base score
      expect(r.penalties).toHaveLength(1);
      expect(r.penalties[0]!.points).toBe(3400);
      expect(r.penalties[0]!.reason).toBe(r.zeroReason);
    });

    it("560 s after an unexpected shutdown the score recovers", () => {
      expect(score({ unexpectedShutdownAt: NOW - 560 }).score).toBe(3400);
    });
  });

  it("is never negative", () => {
    const r = score({
      confUpToDate: false,
      networkRatio: 0,
      bridgeUp: false,
      cpuLoadHistory: loads(1, 1),
      freeMemoryMb: 0,
      retryCount: 3,
      lastRetryAt: NOW,
    });
    expect(r.score).toBe(0);
    expect(r.penalties.reduce((a, p) => a + p.points, 0)).toBe(
      1000 + 1600 + 600 + 1000 + 400 + 150,
    );
  });

  it("the score is always the base minus the penalties' points (clamped at 0)", () => {
    const cases: Partial<ScoreInput>[] = [
      {},
      { networkRatio: 0.5 },
      { bridgeUp: null, confUpToDate: false },
      { cpuLoadHistory: loads(0.7, 0.7), freeMemoryMb: 10 },
      { retryCount: 2, lastRetryAt: NOW - 10 },
      { retryCount: 4, lastRetryAt: NOW - 10 },
      { localMaintenance: true },
      { unexpectedShutdownAt: NOW - 5 },
    ];
    for (const over of cases) {
      const r = score(over);
      const sum = r.penalties.reduce((a, p) => a + p.points, 0);
      expect(r.score).toBe(Math.max(0, r.base - sum));
      for (const p of r.penalties) expect(p.key).toBeTruthy();
    }
    expect(score({ networkRatio: 0.5 }).penalties[0]).toMatchObject({
      name: "network",
      points: 800,
      value: 0.5,
      threshold: 1,
      key: "network-score-penalty",
    });
    expect(score({ retryCount: 4, lastRetryAt: NOW - 10 }).penalties[0]).toMatchObject({
      name: "start-failures",
      value: 4,
      threshold: 3,
      key: "engine_retry_max_attempts",
    });
  });

  it("uses the configured values", () => {
    const c = { ...cfg, "base-score": 2000, "mgmt-bridge-score-penalty": 7 };
    expect(score({ bridgeUp: false }, c).score).toBe(1993);
  });
});
