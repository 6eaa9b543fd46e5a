import { Gauge, type Registry } from "prom-client";
import type { ExplainDoc } from "./explain.js";

/**
 * The `he-ha explain` facts as Prometheus series, set from one ExplainDoc at scrape time
 * (the same document GET /v1/explain answers): each host's score penalties, its running
 * timers and the failover verdict, so a dashboard can show "why" beside "what".
 */
export class ExplainMetrics {
  private readonly penalty: Gauge;
  private readonly timer: Gauge;
  private readonly failover: Gauge;

  constructor(registry: Registry) {
    this.penalty = new Gauge({
      name: "ovirt_ha_score_penalty",
      help: "Points a host's score loses to one named penalty, as the host published it",
      labelNames: ["host_id", "reason"],
      registers: [registry],
    });
    this.timer = new Gauge({
      name: "ovirt_ha_timer_remaining_seconds",
      help: "Seconds left on a running HA timer of a host (state timeouts, the start-failure penalty, host-alive, sanlock lease)",
      labelNames: ["host_id", "timer"],
      registers: [registry],
    });
    this.failover = new Gauge({
      name: "ovirt_ha_failover_seconds",
      help: "Seconds from the death of the engine's host to the start on the next host (absent: no host could start it)",
      labelNames: ["engine_host_id", "failover_host_id"],
      registers: [registry],
    });
  }

  update(doc: ExplainDoc): void {
    this.penalty.reset();
    this.timer.reset();
    this.failover.reset();
    for (const h of doc.hosts) {
      const host_id = String(h.host_id);
      for (const p of h.penalties) this.penalty.set({ host_id, reason: p.name }, p.points);
      for (const t of h.timers) this.timer.set({ host_id, timer: t.name }, t.seconds_left);
    }
    const v = doc.verdict;
    if (v.failover_host_id !== null && v.failover_after_seconds !== null) {
      this.failover.set(
        {
          engine_host_id: v.engine_host_id === null ? "" : String(v.engine_host_id),
          failover_host_id: String(v.failover_host_id),
        },
        v.failover_after_seconds,
      );
    }
  }
}
