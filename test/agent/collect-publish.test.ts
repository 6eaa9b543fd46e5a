import { describe, expect, it } from "vitest";
import { collectionFrom, reconcileLocalEngine } from "../../src/agent/collect.js";
import { buildContext } from "../../src/agent/fsm/context.js";
import type { Collection } from "../../src/agent/history.js";
import { monitorEngineStatus } from "../../src/agent/monitor-values.js";
import { hostBlockInput } from "../../src/agent/publish.js";
import { DEFAULT_SCORE_CONFIG } from "../../src/common/agent-conf.js";
import { DEFAULT_TIMING } from "../../src/common/timing.js";
import {
  decodeHostBlock,
  decodeWhiteboard,
  encodeGlobalBlock,
  encodeHostBlock,
  SEGMENT_SIZE,
} from "../../src/storage/whiteboard/index.js";
import { localStats, UP_GOOD } from "./world.js";

function whiteboard(blocks: Map<number, Buffer>, globalMaintenance: boolean): Buffer {
  const max = Math.max(0, ...blocks.keys());
  const buf = Buffer.alloc((max + 1) * SEGMENT_SIZE);
  encodeGlobalBlock({ maintenance: globalMaintenance, unknown: {} }).copy(buf, 0);
  for (const [id, b] of blocks) b.copy(buf, id * SEGMENT_SIZE);
  return buf;
}

/** The step context of a one-collection history, with this base score. */
function ctxOf(hostId: number, collection: Collection, baseScore = 3400) {
  return buildContext(hostId, [collection], {
    scoreConfig: { ...DEFAULT_SCORE_CONFIG, "base-score": baseScore },
    timing: DEFAULT_TIMING,
    confUpToDate: true,
    vmMemSizeMb: 4096,
  });
}

const base = {
  hostname: "h.example.com",
  confOnSharedStorage: true,
  vmConfRefreshTime: 900,
  timeEpoch: 1_700_000_000,
};

describe("publish and collect", () => {
  it("the published block decodes to what the state machine decided", () => {
    const collection = {
      collectStart: 1000.7,
      collectFinish: 1001,
      hosts: new Map(),
      globalMaintenance: false,
      tooNew: false,
      local: localStats({ engine: UP_GOOD }),
    };
    const input = hostBlockInput({
      ...base,
      hostId: 3,
      collection,
      data: { state: "EngineStop", timeoutStart: 1000, retryCount: 0, retryTime: null },
      ctx: ctxOf(3, collection),
    });
    const r = decodeHostBlock(encodeHostBlock(input), 3);
    if (!r?.ok) throw new Error(`decode failed: ${JSON.stringify(r)}`);
    expect(r.block).toMatchObject({
      hostId: 3,
      timestamp: 1000,
      score: 3400,
      engineStatus: UP_GOOD,
      stopped: false,
      maintenance: false,
    });
    expect(r.block.extra).toMatchObject({
      state: "EngineStop",
      stopped: "False",
      maintenance: "False",
    });
    expect(r.block.extra.timeout).toMatch(/^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/);
  });

  it("AgentStopped publishes stopped=1 and LocalMaintenance maintenance=1", () => {
    const collection = {
      collectStart: 5,
      collectFinish: 5,
      hosts: new Map(),
      globalMaintenance: false,
      tooNew: false,
      local: localStats(),
    };
    const stopped = hostBlockInput({
      ...base,
      hostId: 1,
      collection,
      ctx: ctxOf(1, collection),
      data: { state: "AgentStopped", timeoutStart: null, retryCount: 0, retryTime: null },
    });
    expect(stopped).toMatchObject({ stopped: true, maintenance: false, score: 0 });
    const lm = hostBlockInput({
      ...base,
      hostId: 1,
      collection,
      ctx: ctxOf(1, collection),
      data: { state: "LocalMaintenance", timeoutStart: null, retryCount: 0, retryTime: null },
    });
    expect(lm).toMatchObject({ stopped: false, maintenance: true });
    expect(lm.stateExtra.maintenance).toBe("True");
  });

  it("a collection leaves our own segment out and reads monitors and maintenance flags", () => {
    const collection = {
      collectStart: 5,
      collectFinish: 5,
      hosts: new Map(),
      globalMaintenance: false,
      tooNew: false,
      local: localStats(),
    };
    const block = (hostId: number) =>
      encodeHostBlock(
        hostBlockInput({
          ...base,
          hostId,
          collection,
          ctx: ctxOf(hostId, collection, 100 * hostId),
          data: { state: "EngineDown", timeoutStart: null, retryCount: 0, retryTime: null },
        }),
      );
    const snapshot = decodeWhiteboard(
      whiteboard(
        new Map([
          [1, block(1)],
          [2, block(2)],
        ]),
        true,
      ),
    );
    const c = collectionFrom({
      hostId: 1,
      snapshot,
      monitors: {
        network: "0.6",
        "mgmt-bridge": "False",
        "mem-free": "2048",
        "cpu-load-no-engine": "None",
        "engine-health": '{"vm": "up", "health": "good", "detail": "Up"}',
        "storage-domain": "True",
      },
      haConf: { localMaintenance: false, localMaintenanceManual: true },
      collectStart: 10,
      collectFinish: 11,
    });
    expect([...c.hosts.keys()]).toEqual([2]);
    expect(c.globalMaintenance).toBe(true);
    expect(c.local).toEqual({
      engine: UP_GOOD,
      network: 0.6,
      bridge: false,
      memFreeMb: 2048,
      cpuLoad: null,
      storageOk: true,
      localMaintenance: true,
    });
  });

  it("a VM libvirt reports active here is never taken for down by a stale monitor value", () => {
    expect(
      reconcileLocalEngine({ vm: "down", health: "bad", detail: "unknown" }, true),
    ).toMatchObject({
      vm: "up",
      health: "bad",
    });
    expect(
      reconcileLocalEngine({ vm: "down_unexpected", health: "bad", detail: "Down" }, true)?.vm,
    ).toBe("up");
    expect(reconcileLocalEngine(UP_GOOD, true)).toBe(UP_GOOD);
    const down = { vm: "down" as const, health: "bad" as const, detail: "unknown" };
    expect(reconcileLocalEngine(down, false)).toBe(down);
    expect(reconcileLocalEngine(down, null)).toBe(down);
    expect(reconcileLocalEngine(null, true)).toBeNull();
  });

  it("engine-health that does not parse is unknown", () => {
    expect(monitorEngineStatus("{oops")).toMatchObject({
      vm: "unknown",
      detail: "serialization error",
    });
    expect(monitorEngineStatus("None")).toBeNull();
  });
});
