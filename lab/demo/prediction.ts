/** he-ha simulate --from-live's prediction beside what the demo measured (live-insight.ts). */
export interface PredictionCheck {
  /** the what-if as the prediction names it: "kill host1", "local-maintenance host1 on", … */
  event: string;
  /** the host that asked its broker (he-ha simulate --from-live ran with its root) */
  asked_host_id: number;
  predicted_host: string | null;
  predicted_engine_up_seconds: number | null;
  /** the durations the prediction had to assume (nothing on the live cluster gave them) */
  assumptions: string[];
  measured_host_id: number | null;
  measured_engine_up_seconds: number | null;
  /** measured minus predicted, seconds */
  difference_seconds: number | null;
  /** the agents' loop_delay: the granularity of both the prediction and the measurement */
  loop_seconds: number;
  /** the same host (by name) and the two times within one loop of each other */
  within_loop: boolean;
}
