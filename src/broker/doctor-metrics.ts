import { Gauge, type Registry } from "prom-client";
import type { Finding } from "../doctor/checks.js";

/**
 * `he-ha doctor`'s findings as Prometheus series, set at scrape time from the same
 * checks GET /v1/doctor runs: one `ovirt_ha_doctor_finding{check,severity}` per finding
 * kind (its value: how many), so an alert can fire on `severity="error"`.
 */
export class DoctorMetrics {
  private readonly finding: Gauge;

  constructor(registry: Registry) {
    this.finding = new Gauge({
      name: "ovirt_ha_doctor_finding",
      help: "Findings of he-ha doctor on this host, by check and severity (info, warning, error)",
      labelNames: ["check", "severity"],
      registers: [registry],
    });
  }

  update(findings: readonly Finding[]): void {
    this.finding.reset();
    for (const f of findings) this.finding.inc({ check: f.check, severity: f.severity });
  }
}
