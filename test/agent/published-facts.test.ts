import { execFileSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildContext } from "../../src/agent/fsm/context.js";
import { stateScore } from "../../src/agent/fsm/score.js";
import { runningTimers } from "../../src/agent/fsm/timers.js";
import type { FsmData } from "../../src/agent/fsm/types.js";
import type { Collection } from "../../src/agent/history.js";
import { hostBlockInput } from "../../src/agent/publish.js";
import {
  agentConfDigests,
  DEFAULT_SCORE_CONFIG,
  type ScoreConfig,
} from "../../src/common/agent-conf.js";
import { DEFAULT_TIMING } from "../../src/common/timing.js";
import { decodeHostBlock, encodeHostBlock, readFacts } from "../../src/storage/whiteboard/index.js";
import { haCheckout, NO_HA_CHECKOUT } from "../support/upstream.js";
import { localStats } from "./world.js";

const NOW = 10_000;

function collection(over: Partial<Collection["local"]> = {}): Collection {
  return {
    collectStart: NOW - 1,
    collectFinish: NOW,
    hosts: new Map(),
    globalMaintenance: false,
    tooNew: false,
    local: localStats(over),
  };
}

function publish(data: FsmData, c: Collection, scoreConfig: ScoreConfig = DEFAULT_SCORE_CONFIG) {
  const ctx = buildContext(2, [c], {
    scoreConfig,
    timing: DEFAULT_TIMING,
    confUpToDate: true,
    vmMemSizeMb: 4096,
  });
  const bytes = encodeHostBlock(
    hostBlockInput({
      hostId: 2,
      hostname: "host2.example.com",
      collection: c,
      data,
      ctx,
      confOnSharedStorage: true,
      vmConfRefreshTime: 900,
      timeEpoch: 1_700_000_000,
    }),
  );
  return { bytes, ctx };
}

/** A host in EngineMaybeAway with two failed starts, its network half down and no bridge. */
const troubled: FsmData = {
  state: "EngineMaybeAway",
  timeoutStart: NOW - 15,
  retryCount: 2,
  retryTime: NOW - 100,
};
const troubledLocal = { network: 0.5, bridge: false };

describe("the score breakdown, timers and digests a host publishes", () => {
  it("read back from the block, they are the score function's own penalties and the FSM's timers", () => {
    const c = collection(troubledLocal);
    const { bytes, ctx } = publish(troubled, c);
    const r = decodeHostBlock(bytes, 2);
    if (!r?.ok) throw new Error(`decode failed: ${JSON.stringify(r)}`);
    const facts = readFacts(r.block.extra);
    const scored = stateScore(troubled, ctx);
    expect(r.block.score).toBe(scored.score);
    expect(facts.penalties).toEqual(
      scored.penalties.map(({ name, points, value, threshold }) => ({
        name,
        points,
        value,
        threshold,
      })),
    );
    expect(facts.penalties?.map((p) => p.name)).toEqual(["network", "mgmt-bridge", "engine-retry"]);
    // 3400 − 800 (network 0.5) − 600 (bridge down) − 2 × 50 (two failed starts)
    expect(r.block.score).toBe(1900);
    expect(facts.timers).toEqual([
      { name: "EngineMaybeAway", seconds_left: 25 },
      { name: "start-failure-penalty", seconds_left: 500 },
    ]);
    expect(runningTimers(troubled, DEFAULT_TIMING, NOW).map((t) => t.seconds_left)).toEqual([
      25, 500,
    ]);
    const digests = agentConfDigests({ score: DEFAULT_SCORE_CONFIG, timing: DEFAULT_TIMING });
    expect(facts.scoreDigest).toBe(digests.score);
    expect(facts.timingDigest).toBe(digests.timing);
  });

  it("another score weight gives another score digest, the timing digest stays", () => {
    const c = collection();
    const data: FsmData = {
      state: "EngineDown",
      timeoutStart: null,
      retryCount: 0,
      retryTime: null,
    };
    const a = readFacts(extraOf(publish(data, c).bytes));
    const b = readFacts(
      extraOf(publish(data, c, { ...DEFAULT_SCORE_CONFIG, "network-score-penalty": 1000 }).bytes),
    );
    expect(a.scoreDigest).not.toBe(b.scoreDigest);
    expect(a.timingDigest).toBe(b.timingDigest);
  });

  it("a block without the lines (an older or Python writer) reads as 'not published'", () => {
    expect(readFacts({ state: "EngineDown" })).toEqual({
      penalties: null,
      timers: null,
      scoreDigest: null,
      timingDigest: null,
    });
    expect(readFacts({ penalties: "not json", timers: '[[1,2],["x",3]]' })).toMatchObject({
      penalties: null,
      timers: [{ name: "x", seconds_left: 3 }],
    });
  });

  const upstream = haCheckout();
  it.skipIf(!upstream)(
    `the original's own reader (lib/metadata.py) parses the block as before: the lines are in its opaque 'extra' text${upstream ? "" : ` (skipped: ${NO_HA_CHECKOUT})`}`,
    () => {
      const { bytes } = publish(troubled, collection(troubledLocal));
      const out = execFileSync(
        "python3",
        [path.join(import.meta.dirname, "../python/upstream_metadata.py"), upstream!],
        { input: JSON.stringify({ blocks: [{ id: 2, hex: bytes.toString("hex") }] }) },
      );
      const parsed = (JSON.parse(out.toString()) as { parsed: Record<string, unknown>[] })
        .parsed[0]!;
      expect(parsed.error).toBeUndefined();
      expect(parsed).toMatchObject({
        "host-id": 2,
        score: 1900,
        hostname: "host2.example.com",
        maintenance: false,
        stopped: false,
        conf_on_shared_storage: true,
      });
      expect(parsed.extra).toContain("state=EngineMaybeAway\n");
      expect(parsed.extra).toContain('penalties=[["network",800,0.5,1]');
    },
  );
});

function extraOf(bytes: Buffer): Record<string, string> {
  const r = decodeHostBlock(bytes, 2);
  if (!r?.ok) throw new Error("decode failed");
  return r.block.extra;
}
