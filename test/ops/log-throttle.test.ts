import { describe, expect, it } from "vitest";
import { LogThrottle, THROTTLE_INTERVALS, throttledLogger } from "../../src/common/log-throttle.js";
import { capturedLogger } from "./harness.js";

/** A clock the test moves by hand. */
function manualClock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("LogThrottle", () => {
  it("lets an identical line through once per interval and counts the ones held back", () => {
    const clock = manualClock();
    const t = new LogThrottle({ intervalMs: 60_000, now: clock.now });
    expect(t.check("score-memory", "Penalizing score by 400")).toEqual({
      emit: true,
      suppressed: 0,
    });
    for (let i = 0; i < 5; i++) {
      clock.advance(10_000);
      expect(t.check("score-memory", "Penalizing score by 400").emit).toBe(false);
    }
    clock.advance(9_999); // 59.999 s after the first
    expect(t.check("score-memory", "Penalizing score by 400").emit).toBe(false);
    clock.advance(1); // 60 s
    expect(t.check("score-memory", "Penalizing score by 400")).toEqual({
      emit: true,
      suppressed: 6,
    });
    clock.advance(1);
    expect(t.check("score-memory", "Penalizing score by 400").emit).toBe(false);
  });

  it("emits at once when the text changes, like the original's log_filter", () => {
    const clock = manualClock();
    const t = new LogThrottle({ intervalMs: 60_000, now: clock.now });
    t.check("k", "free memory 1000 < 4096");
    t.check("k", "free memory 1000 < 4096");
    expect(t.check("k", "free memory 900 < 4096")).toEqual({ emit: true, suppressed: 1 });
    expect(t.check("k", "free memory 900 < 4096").emit).toBe(false);
  });

  it("keeps keys apart, honours a per-call interval, and forgets a reset key", () => {
    const clock = manualClock();
    const t = new LogThrottle({ intervalMs: THROTTLE_INTERVALS.metadataError, now: clock.now });
    expect(t.check("md-1", "bad block").emit).toBe(true);
    expect(t.check("md-2", "bad block").emit).toBe(true);
    clock.advance(60_000);
    expect(t.check("md-1", "bad block").emit).toBe(false);
    expect(t.check("md-2", "bad block", 60_000)).toEqual({ emit: true, suppressed: 0 });
    t.reset("md-1");
    expect(t.check("md-1", "bad block")).toEqual({ emit: true, suppressed: 0 });
  });

  it("rejects a negative interval", () => {
    expect(() => new LogThrottle({ intervalMs: -1 })).toThrow(/intervalMs/);
  });
});

describe("throttledLogger", () => {
  it("writes the first warning, holds back repeats, then reports `suppressed: N`", () => {
    const clock = manualClock();
    const { lines, logger } = capturedLogger();
    const log = throttledLogger(logger, {
      intervalMs: THROTTLE_INTERVALS.scorePenalty,
      now: clock.now,
    });
    const warn = () =>
      log.warn(
        "score-network",
        { host_id: 1, penalty: 1600 },
        "Penalizing score due to network status",
      );
    expect(warn()).toBe(true);
    for (let i = 0; i < 5; i++) {
      clock.advance(10_000);
      expect(warn()).toBe(false);
    }
    clock.advance(10_000);
    expect(warn()).toBe(true);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 40,
      host_id: 1,
      penalty: 1600,
      msg: "Penalizing score due to network status",
    });
    expect(lines[0]).not.toHaveProperty("suppressed");
    expect(lines[1]).toMatchObject({ level: 40, host_id: 1, suppressed: 5 });
  });

  it("logs at the level asked for", () => {
    const { lines, logger } = capturedLogger();
    const log = throttledLogger(logger, { intervalMs: 1000, now: () => 0 });
    log.error("a", {}, "metadata error");
    log.info("b", {}, "in maintenance");
    log.debug("c", {}, "best remote host");
    expect(lines.map((l) => l.level)).toEqual([50, 30, 20]);
  });
});
