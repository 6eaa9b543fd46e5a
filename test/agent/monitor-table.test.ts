import { describe, expect, it } from "vitest";
import { monitorRequests } from "../../src/agent/broker-link.js";
import { decodeMonitors } from "../../src/agent/monitor-values.js";
import { createMonitor } from "../../src/broker/monitors/registry.js";
import { hostConfigFrom } from "../../src/common/host-config.js";
import { silentLogger } from "../../src/common/log.js";
import { AGENT_MONITORS, MONITOR_TABLE, MONITOR_TYPES } from "../../src/common/monitor-table.js";

const conf = hostConfigFrom(
  new Map([
    ["host_id", "1"],
    ["sdUUID", "5e1f6a4b-0000-4000-8000-00000000005d"],
    ["vmid", "e0e0e0e0-0000-4000-8000-0000000000e0"],
    ["fqdn", "engine.example"],
    ["gateway", "192.0.2.1"],
    ["bridge", "ovirtmgmt"],
  ]),
  "hosted-engine.conf",
);

describe("the monitor table", () => {
  it("the agent starts every monitor its rows mark, with options the broker's factory accepts", () => {
    const reqs = monitorRequests(conf);
    expect(reqs.map((r) => r.type)).toEqual([...AGENT_MONITORS]);
    expect(AGENT_MONITORS).not.toContain("cpu-load");
    const deps = {
      log: silentLogger,
      hypervisor: { domainState: async () => null },
      storage: { metadata: "/m", lockspace: "/l" },
    };
    for (const r of reqs) {
      const options = Object.fromEntries(Object.entries(r.options).map(([k, v]) => [k, String(v)]));
      expect(createMonitor(r.type, options, deps).type).toBe(r.type);
    }
    expect(() => createMonitor("no-such-monitor", {}, deps)).toThrow(/not a registered/);
    expect(MONITOR_TYPES.length).toBe(Object.keys(MONITOR_TABLE).length);
  });

  it("decodes each status_monitor string the way its row says, None as no value", () => {
    expect(
      decodeMonitors({
        network: "1.0",
        "mgmt-bridge": "True",
        "mem-free": "2048",
        "cpu-load-no-engine": "0.1234",
        "engine-health": '{"vm": "up", "health": "good", "detail": "Up"}',
        "storage-domain": "False",
      }),
    ).toEqual({
      network: 1,
      "mgmt-bridge": true,
      "mem-free": 2048,
      "cpu-load-no-engine": 0.1234,
      "engine-health": { vm: "up", health: "good", detail: "Up" },
      "storage-domain": false,
    });
    const none = decodeMonitors({ network: "None", "engine-health": "{broken" });
    expect(none.network).toBeNull();
    expect(none["mgmt-bridge"]).toBeNull();
    // the original's reading of an engine-health value that does not parse
    expect(none["engine-health"]).toEqual({
      vm: "unknown",
      health: "bad",
      detail: "serialization error",
    });
  });
});
