/** he-ha simulate --from-live's prediction beside the measured failover (live-insight.ts). */
export interface PredictionCheck {
  killed_host_id: number;
  /** the host that asked its broker (he-ha simulate --from-live ran with its root) */
  asked_host_id: number;
  predicted_host: string | null;
  predicted_engine_up_seconds: number | null;
  measured_host_id: number | null;
  measured_engine_up_seconds: number | null;
  /** measured minus predicted, seconds */
  difference_seconds: number | null;
  /** the agents' loop_delay: the granularity of both the prediction and the measurement */
  loop_seconds: number;
  /** the same host (by name) and the two times within one loop of each other */
  within_loop: boolean;
}
