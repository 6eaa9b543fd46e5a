import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BrokerMetrics, DROPPED_DEFAULT_METRICS } from "../../src/broker/metrics.js";
import type { BrokerStatus } from "../../src/broker/status.js";
import { buildInfo } from "../../src/common/build-info.js";
import { packageVersion } from "../../src/common/version.js";
import { DoctorMetrics } from "../../src/doctor/metrics.js";
import { ExplainMetrics } from "../../src/explain/metrics.js";
import { REPO, runTool } from "../support/run.js";

/**
 * The broker's /metrics text as Prometheus sees it: `promtool check metrics` (Debian's
 * prometheus package) accepts the whole exposition, prom-client's defaults included;
 * figures carry base units; docs/metrics.md's tables name what is exported, with the
 * labels exported.
 */
const METADATA = "/rhev/data-center/mnt/srv:_he/sd/ha_agent/hosted-engine.metadata";

function status(): BrokerStatus {
  const host = (id: number, vm: "up" | "down") => ({
    host_id: id,
    hostname: `host${id}.example`,
    score: 3400,
    timestamp: 1000 + id,
    engine_status: { vm, health: vm === "up" ? "good" : "bad", detail: vm, reason: "" },
    engine_status_raw: "",
    local_maintenance: false,
    stopped: false,
    crc32: "00000000",
    conf_on_shared_storage: true,
    vm_conf_refresh_time: 0,
    state: vm === "up" ? "EngineUp" : "EngineDown",
    extra: {},
    alive: true,
    timestamp_changing: true,
    updated_age_seconds: 3,
  });
  return {
    host_id: 1,
    global_maintenance: false,
    global_maintenance_pending: null,
    global: { maintenance: false, unknown: {} },
    hosts: [host(1, "up"), host(2, "down")],
    decode_errors: [],
    too_new: false,
    liveness: { alive: [1, 2], push_age_seconds: 1, push_fresh: true },
    local: {
      score: 3400,
      monitors: [
        { id: "mem-free", type: "mem-free", options: {}, value: "2048" },
        { id: "network", type: "network", options: {}, value: "0.8" },
        { id: "cpu-load", type: "cpu-load", options: {}, value: "0.25" },
        { id: "mgmt-bridge", type: "mgmt-bridge", options: {}, value: "True" },
      ],
      lease_held: true,
      lease_error: null,
    },
    storage: {
      metadata_path: METADATA,
      has_read: true,
      last_read_ok: 1_780_000_000,
      last_read_age_seconds: 2.5,
      last_read_error: null,
      last_read_error_at: null,
      consecutive_read_failures: 0,
      read_errors_total: 0,
      last_write_ok: 1_780_000_000,
      last_write_error: null,
      last_write_error_at: null,
      write_errors_total: 0,
      writes_refused_total: 0,
      pending_host_ids: [],
      in_flight_seconds: null,
      stale: false,
      volume_short: null,
      writes_failing: false,
    },
  } as BrokerStatus;
}

const NOTIFICATIONS = { sent: 1, failed: 0, suppressed: 2 };

/** sample lines of one metric: labels text → value */
function samples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-z_:][a-z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name) out.set(m[2] ?? "", Number(m[3]));
  }
  return out;
}

describe("broker metrics exposition", () => {
  it("passes `promtool check metrics`, prom-client's default metrics included", async () => {
    const metrics = new BrokerMetrics();
    const text = await metrics.render(status(), NOTIFICATIONS);
    for (const dropped of DROPPED_DEFAULT_METRICS) expect(text).not.toContain(`${dropped} `);
    // the per-type gauges those totals summed stay
    expect(text).toMatch(/^# TYPE nodejs_active_handles gauge$/m);
    const res = await runTool("promtool", ["check", "metrics"], {
      hint: "run scripts/setup-host.sh (Debian package prometheus)",
      stdin: text,
    });
    expect(res.stdout + res.stderr).toBe("");
    expect(res.code).toBe(0);
  });

  it("exports ovirt_ha_build_info with this package's version, the commit and implementation typescript", async () => {
    const metrics = new BrokerMetrics({ defaultMetrics: false });
    const text = await metrics.render(status(), NOTIFICATIONS);
    const info = buildInfo();
    expect(info.version).toBe(packageVersion());
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect([...samples(text, "ovirt_ha_build_info")]).toEqual([
      [`{version="${info.version}",commit="${info.commit}",implementation="typescript"}`, 1],
    ]);
    const given = new BrokerMetrics({
      defaultMetrics: false,
      build: { version: "9.9.9", commit: "0123abc", implementation: "typescript" },
    });
    expect(await given.registry.getSingleMetricAsString("ovirt_ha_build_info")).toContain(
      'ovirt_ha_build_info{version="9.9.9",commit="0123abc",implementation="typescript"} 1',
    );
  });

  it("exports free memory in bytes, and only unitless figures in ovirt_ha_monitor_value", async () => {
    const text = await new BrokerMetrics({ defaultMetrics: false }).render(status(), NOTIFICATIONS);
    expect([...samples(text, "ovirt_ha_memory_free_bytes")]).toEqual([["", 2048 * 1024 * 1024]]);
    expect([...samples(text, "ovirt_ha_monitor_value")]).toEqual([
      ['{monitor="network",type="network"}', 0.8],
      ['{monitor="cpu-load",type="cpu-load"}', 0.25],
      ['{monitor="mgmt-bridge",type="mgmt-bridge"}', 1],
    ]);
    // mem-free still says it has a value
    expect(
      samples(text, "ovirt_ha_monitor_has_value").get('{monitor="mem-free",type="mem-free"}'),
    ).toBe(1);
  });

  it("labels the storage figures with `volume`, as docs/metrics.md says, and docs/metrics.md lists every exported metric", async () => {
    const metrics = new BrokerMetrics({ defaultMetrics: false });
    const text = await metrics.render(status(), NOTIFICATIONS);
    for (const name of [
      "ovirt_ha_storage_last_read_success_timestamp_seconds",
      "ovirt_ha_storage_last_read_age_seconds",
      "ovirt_ha_storage_stale",
    ]) {
      expect([...samples(text, name).keys()], name).toEqual([`{volume="${METADATA}"}`]);
    }
    const section = await readFile(path.join(REPO, "docs", "metrics.md"), "utf8");
    const rows = new Map<string, string>();
    for (const m of section.matchAll(/^\| `(ovirt_ha_[a-z_]+)` \|([^\n]*)$/gm))
      rows.set(m[1] ?? "", m[2] ?? "");
    // the broker binary plugs explain's and the doctor's series into the same registry
    // (src/doctor/broker-reports.ts); docs/metrics.md lists what a scrape of it shows
    new ExplainMetrics(metrics.registry);
    new DoctorMetrics(metrics.registry);
    const exported = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    expect([...rows.keys()].sort()).toEqual([...exported].sort());
    for (const name of [
      "ovirt_ha_storage_last_read_success_timestamp_seconds",
      "ovirt_ha_storage_last_read_age_seconds",
      "ovirt_ha_storage_stale",
    ])
      expect(rows.get(name), name).toContain("`volume`");
    expect(rows.get("ovirt_ha_build_info")).toContain("`implementation`");
  });
});
