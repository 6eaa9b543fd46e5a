import { describe, expect, it } from "vitest";
import { clusterSummary, formatAge, formatSummaryLine } from "../../src/cli/format/summary.js";
import { formatVmStatusText, vmStatusJson } from "../../src/cli/format/vm-status.js";
import { cluster, hostBlock } from "./blocks.js";

const down = { engineStatus: { vm: "down" as const, health: "bad" as const, detail: "unknown" } };

describe("the one-line cluster summary", () => {
  it("names the engine's host and health, maintenance, live hosts and the standby hosts", () => {
    const c = cluster(
      [
        hostBlock(1),
        hostBlock(2, down),
        hostBlock(3, { ...down, maintenance: true, score: 0 }),
        hostBlock(4, { ...down, score: 0 }),
        hostBlock(5, down),
      ],
      [1, 2, 3, 4],
    );
    expect(formatSummaryLine(clusterSummary(c))).toBe(
      "engine: up on host1.example.com (id 1), health good | maintenance: none, local on id 3 | live hosts: 4/5 | standby: host2.example.com (3400)\n",
    );
  });

  it("shouts when the engine VM is up on several live hosts, ignores a dead host's 'up', says when there is no standby", () => {
    const twice = clusterSummary(cluster([hostBlock(1), hostBlock(2), hostBlock(3)], [1, 2], true));
    expect(formatSummaryLine(twice)).toBe(
      "engine: UP ON 2 HOSTS: host1.example.com (id 1), host2.example.com (id 2) | maintenance: global | live hosts: 2/3 | standby: none\n",
    );
    const none = clusterSummary(cluster([hostBlock(1, down), hostBlock(2)], [1]));
    expect(formatSummaryLine(none)).toMatch(/^engine: not up on any live host \|/);
    expect(none.standby).toEqual([{ host_id: 1, hostname: "host1.example.com", score: 3400 }]);
  });
});

describe("block ages", () => {
  it("reads as seconds, minutes or hours ago", () => {
    expect([formatAge(4.4), formatAge(119), formatAge(600), formatAge(7300)]).toEqual([
      "4 s ago",
      "119 s ago",
      "10 min ago",
      "2 h ago",
    ]);
    expect(formatAge(null)).toBe("not seen changing since the broker started");
  });

  it("show in the text layout after 'Status up-to-date' and in --json, only when the broker gave them", () => {
    const c = cluster([hostBlock(1), hostBlock(2)], [1, 2]);
    c.hosts[0]!.updatedAgo = 3.24;
    c.hosts[1]!.updatedAgo = null;
    const text = formatVmStatusText(c);
    expect(text).toContain(
      "Status up-to-date                  : True\nBlock updated                      : 3 s ago\n",
    );
    expect(text).toContain(
      "Block updated                      : not seen changing since the broker started\n",
    );
    const doc = vmStatusJson(c) as Record<string, Record<string, unknown>>;
    expect(doc["1"]?.["updated-seconds-ago"]).toBe(3.2);
    expect(doc["2"]?.["updated-seconds-ago"]).toBeNull();
    expect(Object.keys(doc["2"] ?? {}).at(-1)).toBe("updated-seconds-ago");
    const plain = cluster([hostBlock(1)], [1]);
    expect(formatVmStatusText(plain)).not.toContain("Block updated");
  });
});
