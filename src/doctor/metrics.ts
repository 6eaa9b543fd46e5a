import { Gauge, type Registry } from "prom-client";
import type { DoctorAnswer } from "./schedule.js";

/**
 * `he-ha doctor`'s findings as Prometheus series, set at scrape time from the broker's
 * latest scheduled run (the one GET /v1/doctor answers; schedule.ts): one
 * `ovirt_ha_doctor_finding{check,severity}` per finding kind (its value: how many), so an
 * alert can fire on `severity="error"`, and `ovirt_ha_doctor_age_seconds`, how old they are.
 */
export class DoctorMetrics {
  private readonly finding: Gauge;
  private readonly age: Gauge;

  constructor(registry: Registry) {
    this.finding = new Gauge({
      name: "ovirt_ha_doctor_finding",
      help: "Findings of he-ha doctor on this host, by check and severity (info, warning, error)",
      labelNames: ["check", "severity"],
      registers: [registry],
    });
    this.age = new Gauge({
      name: "ovirt_ha_doctor_age_seconds",
      help: "Seconds since the broker last gathered the doctor findings (absent: not yet)",
      registers: [registry],
    });
  }

  /** `answer` undefined: no run finished yet, so no series. */
  update(answer: DoctorAnswer | undefined): void {
    this.finding.reset();
    this.age.reset();
    if (answer === undefined) return;
    for (const f of answer.findings) this.finding.inc({ check: f.check, severity: f.severity });
    this.age.set(answer.age_seconds);
  }
}
