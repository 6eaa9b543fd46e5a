import type { DemoCluster } from "./cluster.js";
import type { PredictionCheck } from "./prediction.js";

/**
 * What the demo shows of `he-ha explain` and `he-ha simulate --from-live`: explain's text
 * at each step, and the simulator's prediction of the failover-kill story beside what the
 * real cluster then did. Nothing here is asserted on time: the comparison is a figure.
 */

/** Runs `he-ha <args>` on the first listed host that answers; null when none does. */
async function firstAnswer(
  c: DemoCluster,
  hostIds: readonly number[],
  args: string[],
): Promise<{ hostId: number; output: string } | null> {
  for (const id of hostIds) {
    const r = await c
      .host(id)
      .heHa(args)
      .catch(() => undefined);
    if (r?.code === 0) return { hostId: id, output: r.output };
  }
  return null;
}

/** `he-ha explain` on the first host that answers, printed into the demo's timeline. */
export async function printExplain(c: DemoCluster, step: string): Promise<void> {
  const got = await firstAnswer(
    c,
    c.hosts.map((h) => h.id),
    ["explain"],
  );
  if (got === null) {
    c.event(`(he-ha explain at "${step}": no broker answered)`);
    return;
  }
  c.event(`host${got.hostId}$ he-ha explain   # at "${step}"`);
  for (const line of got.output.trimEnd().split("\n")) c.event(`  | ${line}`);
}

/** The first JSON object in `text` (he-ha's output may carry log lines around it). */
function jsonIn(text: string): Record<string, unknown> | undefined {
  const start = text.indexOf("{");
  if (start < 0) return undefined;
  try {
    return JSON.parse(text.slice(start, text.lastIndexOf("}") + 1)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * `he-ha simulate --from-live --kill host<victim> --json`, asked on a host that survives;
 * undefined when no host answered (the check is then missing from the output, not failed).
 */
export async function predictKill(
  c: DemoCluster,
  victim: number,
): Promise<{ askedHostId: number; host: string | null; seconds: number | null } | undefined> {
  const askers = c.hosts.map((h) => h.id).filter((id) => id !== victim);
  const got = await firstAnswer(c, askers, [
    "simulate",
    "--from-live",
    "--kill",
    `host${victim}`,
    "--json",
  ]);
  const p = got
    ? (jsonIn(got.output)?.prediction as Record<string, unknown> | undefined)
    : undefined;
  if (!got || !p) {
    c.event(`(he-ha simulate --from-live --kill host${victim}: no prediction)`);
    return undefined;
  }
  const host = typeof p.started_on === "string" ? p.started_on : null;
  const seconds = typeof p.engine_up_seconds === "number" ? p.engine_up_seconds : null;
  c.event(
    `host${got.hostId}$ he-ha simulate --from-live --kill host${victim}   # predicts: engine up on ${host ?? "no host"} after ${seconds === null ? "never" : `${seconds.toFixed(1)}s`}`,
  );
  return { askedHostId: got.hostId, host, seconds };
}

/** Puts the prediction beside the measurement (pure). */
export function comparePrediction(
  killed: number,
  predicted: { askedHostId: number; host: string | null; seconds: number | null },
  measured: { hostId: number | null; seconds: number | null },
  loopSeconds: number,
): PredictionCheck {
  const difference =
    predicted.seconds !== null && measured.seconds !== null
      ? measured.seconds - predicted.seconds
      : null;
  return {
    killed_host_id: killed,
    asked_host_id: predicted.askedHostId,
    predicted_host: predicted.host,
    predicted_engine_up_seconds: predicted.seconds,
    measured_host_id: measured.hostId,
    measured_engine_up_seconds: measured.seconds,
    difference_seconds: difference,
    loop_seconds: loopSeconds,
    within_loop:
      difference !== null &&
      Math.abs(difference) <= loopSeconds &&
      predicted.host === `host${measured.hostId}`,
  };
}

/** The side-by-side table the demo prints after the story. */
export function predictionTable(p: PredictionCheck): string[] {
  const s = (v: number | null) => (v === null ? "-" : `${v.toFixed(1)} s`);
  return [
    `simulate --from-live --kill host${p.killed_host_id} (asked on host${p.asked_host_id}) vs the real failover:`,
    "                       predicted      measured",
    `  engine up on         ${(p.predicted_host ?? "-").padEnd(14)} ${p.measured_host_id === null ? "-" : `host${p.measured_host_id}`}`,
    `  after the kill       ${s(p.predicted_engine_up_seconds).padEnd(14)} ${s(p.measured_engine_up_seconds)}`,
    `  difference ${s(p.difference_seconds)}; loop ${p.loop_seconds} s: ${p.within_loop ? "within one loop" : "NOT within one loop"}`,
  ];
}
