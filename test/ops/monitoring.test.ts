import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrokerMetrics } from "../../src/broker/metrics.js";
import { REPO, runTool } from "../support/run.js";
import { removeDir, tempDir } from "../support/temp.js";

/**
 * contrib/: the alert rules are checked and unit-tested with promtool (Debian's
 * `prometheus` package, installed by scripts/setup-host.sh); the Grafana dashboard is
 * checked structurally, its queries are parsed by promtool, and every metric either
 * file names must be one the broker really exports.
 */
const ALERTS = path.join(REPO, "contrib/prometheus-alerts.yml");
const ALERT_TESTS = path.join(REPO, "test/ops/fixtures/prometheus-alerts.test.yml");
const DASHBOARD = path.join(REPO, "contrib/grafana-dashboard.json");

function promtool(args: string[]) {
  return runTool("promtool", args, {
    hint: "run scripts/setup-host.sh (Debian package prometheus)",
  }).then((r) => ({ code: r.code, out: r.stdout + r.stderr }));
}

/** Names the broker exports, histograms with their _bucket/_sum/_count series. */
async function exportedSeriesNames(): Promise<Set<string>> {
  const metrics = new BrokerMetrics({ defaultMetrics: false });
  const names = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === "histogram")
      for (const s of ["_bucket", "_sum", "_count"]) names.add(m.name + s);
  }
  return names;
}

/** Every ovirt_ha_* identifier used in a PromQL expression. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(ovirt_ha_[a-z0-9_]+)/g)].map((m) => m[1] ?? "");
}

interface Target {
  expr: string;
  refId: string;
  datasource?: { uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
}
interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown }> };
}

describe("Prometheus alert rules", () => {
  it("pass `promtool check rules`", async () => {
    const res = await promtool(["check", "rules", ALERTS]);
    expect(res.out).toMatch(/SUCCESS: \d+ rules found/);
    expect(res.code).toBe(0);
  });

  it("fire as the unit tests expect: engine VM down, no positive score, storage lost, lease lost, VM up twice, no standby, stale block", async () => {
    const res = await promtool(["test", "rules", ALERT_TESTS]);
    expect(res.out).toContain("SUCCESS");
    expect(res.code).toBe(0);
  });

  it("have the alerts the operators need, and use only exported metrics", async () => {
    const text = await readFile(ALERTS, "utf8");
    for (const alert of [
      "HostedEngineVMDown",
      "HostedEngineNoHostWithPositiveScore",
      "HostedEngineHostLostStorage",
      "HostedEngineLockspaceLost",
      "HostedEngineVMUpOnSeveralHosts",
      "HostedEngineNoStandbyHost",
      "HostedEngineHostBlockStale",
    ]) {
      expect(text).toContain(`alert: ${alert}\n`);
    }
    const exported = await exportedSeriesNames();
    const used = metricNames(text);
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((n) => !exported.has(n))).toEqual([]);
  });
});

describe("Grafana dashboard", () => {
  let dashboard: Dashboard;
  let dir: string;

  beforeAll(async () => {
    dashboard = JSON.parse(await readFile(DASHBOARD, "utf8")) as Dashboard;
    dir = await tempDir("dash");
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it("is a dashboard Grafana imports: uid, schema, datasource variable, laid-out panels with unique ids", () => {
    expect(dashboard.uid).toBe("ovirt-hosted-engine-ha");
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const vars = dashboard.templating.list;
    expect(vars.find((v) => v.name === "datasource")).toMatchObject({
      type: "datasource",
      query: "prometheus",
    });
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const known = new Set(["row", "stat", "timeseries", "state-timeline", "table"]);
    for (const p of dashboard.panels) {
      expect(known.has(p.type), `${p.title}: type ${p.type}`).toBe(true);
      const g = p.gridPos;
      expect(
        g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0 && g.y >= 0,
        `${p.title} gridPos`,
      ).toBe(true);
      if (p.type === "row") continue;
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own variable syntax
      expect(p.datasource, p.title).toEqual({ type: "prometheus", uid: "${datasource}" });
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      const refs = (p.targets ?? []).map((t) => t.refId);
      expect(new Set(refs).size, `${p.title} refIds`).toBe(refs.length);
    }
  });

  it("shows the engine VM, scores, agent states, lockspace and storage latency", () => {
    const exprs = dashboard.panels
      .flatMap((p) => p.targets ?? [])
      .map((t) => t.expr)
      .join("\n");
    for (const m of [
      "ovirt_ha_host_engine_vm_up",
      "ovirt_ha_host_score",
      "ovirt_ha_host_agent_state",
      "ovirt_ha_global_maintenance",
      "ovirt_ha_lockspace_held",
      "ovirt_ha_storage_read_duration_seconds_bucket",
      "ovirt_ha_monitor_value",
    ]) {
      expect(exprs).toContain(m);
    }
  });

  it("queries only metrics the broker exports", async () => {
    const exported = await exportedSeriesNames();
    const used = dashboard.panels
      .flatMap((p) => p.targets ?? [])
      .flatMap((t) => metricNames(t.expr));
    expect(used.filter((n) => !exported.has(n))).toEqual([]);
  });

  it("has queries promtool parses (as recording rules, Grafana variables substituted)", async () => {
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    const rules = exprs.map(
      (e, i) =>
        `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(
          e.replaceAll("$__rate_interval", "5m").replaceAll("$instance", ".*"),
        )}`,
    );
    const file = path.join(dir, "dashboard-queries.yml");
    await writeFile(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join("\n")}\n`);
    const res = await promtool(["check", "rules", file]);
    expect(res.out).toContain(`SUCCESS: ${exprs.length} rules found`);
    expect(res.code).toBe(0);
  });
});

describe("scrape configuration and firewalld service", () => {
  const SCRAPE = path.join(REPO, "contrib/prometheus-scrape.yml");
  const FIREWALLD = path.join(REPO, "contrib/firewalld/ovirt-ha-metrics.xml");

  it("the scrape configuration passes promtool check config, over https with tls_config and basic_auth", async () => {
    const res = await promtool(["check", "config", SCRAPE]);
    expect(res.out).toContain("is valid prometheus config file syntax");
    expect(res.code).toBe(0);
    const text = await readFile(SCRAPE, "utf8");
    expect(text).toMatch(/^\s+scheme: https$/m);
    expect(text).toMatch(/^\s+tls_config:\n\s+#[^\n]*\n\s+#[^\n]*\n\s+ca_file: /m);
    expect(text).toMatch(/^\s+basic_auth:\n\s+username: \S+\n\s+#[^\n]*\n\s+password_file: /m);
  });

  it("the firewalld service is well-formed XML opening the port the scrape configuration scrapes", async () => {
    // python3's XML parser (not ours) reads it as firewalld would: <service> with <port>s
    const parsed = await runTool("/usr/bin/python3", [
      "-c",
      `import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
print(json.dumps({"tag": root.tag, "short": root.findtext("short"),
  "ports": [p.attrib for p in root.findall("port")]}))`,
      FIREWALLD,
    ]);
    expect(parsed.code, parsed.stderr).toBe(0);
    const doc = JSON.parse(parsed.stdout) as {
      tag: string;
      short: string;
      ports: Array<{ protocol: string; port: string }>;
    };
    expect(doc.tag).toBe("service");
    expect(doc.short).toBeTruthy();
    expect(doc.ports).toEqual([{ protocol: "tcp", port: "9420" }]);
    const targets = [...(await readFile(SCRAPE, "utf8")).matchAll(/^\s+- \S+:(\d+)$/gm)].map(
      (m) => m[1],
    );
    expect(targets.length).toBeGreaterThan(0);
    expect(new Set(targets)).toEqual(new Set(["9420"]));
  });
});
