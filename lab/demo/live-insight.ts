import type { DemoCluster } from "./cluster.js";
import type { PredictionCheck } from "./prediction.js";

/**
 * What the demo shows of `he-ha explain` and `he-ha simulate --from-live`: explain's text
 * at each step, and the simulator's prediction of the failover-kill story beside what the
 * real cluster then did (failover, local maintenance, storage loss). Nothing here is
 * asserted on time: the comparison is a figure.
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

/** What `he-ha simulate --from-live … --json` predicted, and on which host it was asked. */
export interface Predicted {
  askedHostId: number;
  event: string;
  host: string | null;
  seconds: number | null;
  assumptions: string[];
}

/**
 * `he-ha simulate --from-live <whatIf> --json`, asked on the first of `askers` that
 * answers; undefined when none did (the check is then missing from the output, not failed).
 */
export async function predictWhatIf(
  c: DemoCluster,
  askers: readonly number[],
  whatIf: string[],
): Promise<Predicted | undefined> {
  const got = await firstAnswer(c, askers, ["simulate", "--from-live", ...whatIf, "--json"]);
  const doc = got ? jsonIn(got.output) : undefined;
  const p = doc?.prediction as Record<string, unknown> | undefined;
  if (!got || !p) {
    c.event(`(he-ha simulate --from-live ${whatIf.join(" ")}: no prediction)`);
    return undefined;
  }
  const host = typeof p.started_on === "string" ? p.started_on : null;
  const seconds = typeof p.engine_up_seconds === "number" ? p.engine_up_seconds : null;
  const assumptions = Array.isArray(doc?.assumptions) ? (doc.assumptions as string[]) : [];
  c.event(
    `host${got.hostId}$ he-ha simulate --from-live ${whatIf.join(" ")}   # predicts: engine up on ${host ?? "no host"} after ${seconds === null ? "never" : `${seconds.toFixed(1)}s`}`,
  );
  if (host === null)
    // why nothing started, for whoever reads the run: where the engine was, live and simulated
    c.event(
      `  | live engine host ${String(doc?.live_engine_host_id)}, simulated engine host ${String(p.engine_host)}, simulated hosts ${String(doc?.simulated_hosts)}; after the event: ${JSON.stringify((doc?.timeline as unknown[] | undefined)?.slice(0, 12) ?? [])}`,
    );
  for (const a of assumptions) c.event(`  | assumed ${a}`);
  return {
    askedHostId: got.hostId,
    event: typeof p.event === "string" ? p.event : whatIf.join(" "),
    host,
    seconds,
    assumptions,
  };
}

/** `he-ha simulate --from-live --kill host<victim>`, asked on a host that survives. */
export function predictKill(c: DemoCluster, victim: number): Promise<Predicted | undefined> {
  const askers = c.hosts.map((h) => h.id).filter((id) => id !== victim);
  return predictWhatIf(c, askers, ["--kill", `host${victim}`]);
}

/** Puts the prediction beside the measurement (pure). */
export function comparePrediction(
  predicted: Predicted,
  measured: { hostId: number | null; seconds: number | null },
  loopSeconds: number,
): PredictionCheck {
  const difference =
    predicted.seconds !== null && measured.seconds !== null
      ? measured.seconds - predicted.seconds
      : null;
  return {
    event: predicted.event,
    asked_host_id: predicted.askedHostId,
    predicted_host: predicted.host,
    predicted_engine_up_seconds: predicted.seconds,
    assumptions: predicted.assumptions,
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

/** The prediction beside the measurement, printed and kept for --json (a figure, never asserted). */
export function showPrediction(
  c: DemoCluster,
  predicted: Predicted | undefined,
  measured: { hostId: number | null; seconds: number | null },
): PredictionCheck | undefined {
  if (!predicted) return undefined;
  const check = comparePrediction(predicted, measured, c.profile.timing.loop_delay);
  c.prediction = check;
  for (const line of predictionTable(check)) c.event(line);
  return check;
}

/** The side-by-side table the demo prints after the story. */
export function predictionTable(p: PredictionCheck): string[] {
  const s = (v: number | null) => (v === null ? "-" : `${v.toFixed(1)} s`);
  return [
    `simulate --from-live: ${p.event} (asked on host${p.asked_host_id}) vs what the cluster did:`,
    "                       predicted      measured",
    `  engine up on         ${(p.predicted_host ?? "-").padEnd(14)} ${p.measured_host_id === null ? "-" : `host${p.measured_host_id}`}`,
    `  up after the event   ${s(p.predicted_engine_up_seconds).padEnd(14)} ${s(p.measured_engine_up_seconds)}`,
    `  difference ${s(p.difference_seconds)}; loop ${p.loop_seconds} s: ${p.within_loop ? "within one loop" : "NOT within one loop"}`,
  ];
}
