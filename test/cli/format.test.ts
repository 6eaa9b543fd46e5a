import { describe, expect, it } from "vitest";
import { formatStatusTable } from "../../src/cli/format/status-table.js";
import { formatVmStatusText, vmStatusJson } from "../../src/cli/format/vm-status.js";
import { cluster, hostBlock } from "./blocks.js";

const HOST1_TEXT = `

--== Host host1.example.com (id: 1) status ==--

Host ID                            : 1
Host timestamp                     : 12345
Score                              : 3400
Engine status                      : {"vm": "up", "health": "good", "detail": "Up"}
Hostname                           : host1.example.com
Local maintenance                  : False
stopped                            : False
crc32                              : c768ad70
conf_on_shared_storage             : True
local_conf_timestamp               : 12000
Status up-to-date                  : True
Extra metadata (valid at timestamp):
\tmetadata_parse_version=1
\tmetadata_feature_version=1
\ttimestamp=12345 (Sat Nov 21 06:00:00 2026)
\thost-id=1
\tscore=3400
\tvm_conf_refresh_time=12000 (Sat Nov 21 05:56:15 2026)
\tconf_on_shared_storage=True
\tmaintenance=False
\tstate=EngineUp
\tstopped=False
`;

describe("status text layout (hosted-engine --vm-status)", () => {
  it("prints a live host's block with 35-column labels in the original order", () => {
    const text = formatVmStatusText(cluster([hostBlock(1)], [1]));
    expect(text).toBe(HOST1_TEXT);
  });

  it("shows 'unknown stale-data' and up-to-date False for a host that is not live", () => {
    const text = formatVmStatusText(cluster([hostBlock(1), hostBlock(2)], [1]));
    const host2 = text.slice(text.indexOf("--== Host host2.example.com (id: 2)"));
    expect(host2).toContain("Engine status                      : unknown stale-data\n");
    expect(host2).toContain("Status up-to-date                  : False\n");
    expect(text.slice(0, text.indexOf("(id: 2)"))).toContain(
      'Engine status                      : {"vm": "up", "health": "good", "detail": "Up"}',
    );
  });

  it("orders hosts by id whatever the storage order", () => {
    const text = formatVmStatusText(cluster([hostBlock(3), hostBlock(1), hostBlock(2)], []));
    const order = [...text.matchAll(/\(id: (\d+)\)/g)].map((m) => m[1]);
    expect(order).toEqual(["1", "2", "3"]);
  });

  it("prints the global maintenance banner before and after the hosts", () => {
    const text = formatVmStatusText(cluster([hostBlock(1)], [1], true));
    const banner = "\n\n!! Cluster is in GLOBAL MAINTENANCE mode !!\n\n";
    expect(text.startsWith(banner)).toBe(true);
    expect(text.endsWith(`\tstopped=False\n${banner}`)).toBe(true);
    expect(text).toBe(banner + HOST1_TEXT + banner);
  });

  it("omits the crc32 line for an older writer without a checksum", () => {
    const text = formatVmStatusText(cluster([hostBlock(1, { crc32: "" })], [1]));
    expect(text).not.toContain("crc32");
    expect(text).toContain("stopped                            : False\nconf_on_shared_storage");
  });

  it("prints local maintenance and stopped as Python booleans", () => {
    const b = hostBlock(4, { maintenance: true, stopped: true, score: 0 });
    const text = formatVmStatusText(cluster([b], [4]));
    expect(text).toContain("Local maintenance                  : True\n");
    expect(text).toContain("stopped                            : True\n");
    expect(text).toContain("Score                              : 0\n");
  });
});

describe("status JSON (hosted-engine --vm-status --json)", () => {
  it("keys hosts by id with the original field names, engine status parsed, plus global_maintenance", () => {
    const doc = vmStatusJson(cluster([hostBlock(1), hostBlock(2)], [2], true));
    expect(Object.keys(doc)).toEqual(["1", "2", "global_maintenance"]);
    expect(doc.global_maintenance).toBe(true);
    expect(doc["1"]).toEqual({
      "host-id": 1,
      "host-ts": 12345,
      score: 3400,
      "engine-status": { vm: "up", health: "good", detail: "Up" },
      hostname: "host1.example.com",
      maintenance: false,
      stopped: false,
      crc32: "c768ad70",
      conf_on_shared_storage: true,
      local_conf_timestamp: 12000,
      extra:
        "metadata_parse_version=1\nmetadata_feature_version=1\ntimestamp=12345 (Sat Nov 21 06:00:00 2026)\n" +
        "host-id=1\nscore=3400\nvm_conf_refresh_time=12000 (Sat Nov 21 05:56:15 2026)\n" +
        "conf_on_shared_storage=True\nmaintenance=False\nstate=EngineUp\nstopped=False\n",
      "live-data": false,
    });
    expect((doc["2"] as Record<string, unknown>)["live-data"]).toBe(true);
  });

  it("keeps the reason of an engine status and survives an unparsable one", () => {
    const locked = hostBlock(1, {
      engineStatusRaw:
        '{"vm": "down", "health": "bad", "detail": "Down", "reason": "Storage of VM is locked"}',
      engineStatus: {
        vm: "down",
        health: "bad",
        detail: "Down",
        reason: "Storage of VM is locked",
      },
    });
    const broken = hostBlock(2, { engineStatusRaw: "{not json", engineStatus: undefined });
    const doc = vmStatusJson(cluster([locked, broken], [1, 2]));
    expect((doc["1"] as Record<string, unknown>)["engine-status"]).toEqual({
      vm: "down",
      health: "bad",
      detail: "Down",
      reason: "Storage of VM is locked",
    });
    expect((doc["2"] as Record<string, { vm: string }>)["engine-status"]!.vm).toBe("unknown");
  });

  it("an empty cluster is just the global flag", () => {
    expect(vmStatusJson(cluster([], []))).toEqual({ global_maintenance: false });
  });
});

describe("status table", () => {
  it("prints one line per host with state, score, engine VM, health, alive, maintenance", () => {
    const blocks = [
      hostBlock(1),
      hostBlock(2, {
        score: 0,
        maintenance: true,
        engineStatusRaw: '{"vm": "down", "health": "bad", "detail": "Down"}',
        engineStatus: { vm: "down", health: "bad", detail: "Down" },
        extra: { state: "LocalMaintenance" },
      }),
      hostBlock(3, { extra: { state: "EngineDown" } }),
    ];
    const lines = formatStatusTable(cluster(blocks, [1, 2]))
      .trimEnd()
      .split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]!.split(/\s+/)).toEqual([
      "ID",
      "HOSTNAME",
      "STATE",
      "SCORE",
      "ENGINE",
      "VM",
      "HEALTH",
      "ALIVE",
      "MAINT",
    ]);
    expect(lines[1]!.split(/\s+/)).toEqual([
      "1",
      "host1.example.com",
      "EngineUp",
      "3400",
      "up",
      "good",
      "yes",
      "-",
    ]);
    expect(lines[2]!.split(/\s+/)).toEqual([
      "2",
      "host2.example.com",
      "LocalMaintenance",
      "0",
      "down",
      "bad",
      "yes",
      "local",
    ]);
    expect(lines[3]!.split(/\s+/)).toEqual([
      "3",
      "host3.example.com",
      "EngineDown",
      "3400",
      "unknown",
      "stale",
      "no",
      "-",
    ]);
  });

  it("fits 80 columns with long hostnames and the longest state and engine names", () => {
    const b = hostBlock(2000, {
      hostname: "a-very-long-hypervisor-hostname.datacenter-one.example.com",
      engineStatusRaw: '{"vm": "down_unexpected", "health": "bad", "detail": "Down"}',
      engineStatus: { vm: "down_unexpected", health: "bad", detail: "Down" },
      extra: { state: "EngineUnexpectedlyDown" },
    });
    const out = formatStatusTable(cluster([b], [2000], true));
    const lines = out.trimEnd().split("\n");
    expect(lines[0]).toBe("!! Cluster is in GLOBAL MAINTENANCE mode !!");
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(lines[2]).toMatch(
      /^2000 a-very-\S*~ EngineUnexpectedlyDown 3400 +down_unexpected bad +yes +global$/,
    );
  });
});
