import type { ExplainDoc, ExplainedPenalty, HostExplanation } from "./explain.js";

const secs = (n: number) => `${Math.round(n)} s`;

function show(v: unknown): string {
  if (v === null) return "none";
  if (typeof v === "boolean") return v ? "yes" : "no";
  return String(v);
}

function penaltyLine(p: ExplainedPenalty): string {
  const key = p.key === null ? "" : `  [agent.conf ${p.key}]`;
  return `    -${String(p.points).padStart(5)}  ${p.name}: value ${show(p.value)}, threshold ${show(p.threshold)}${key}`;
}

function hostText(h: HostExplanation, base: number): string {
  const head = `Host ${h.host_id} (${h.hostname})  state ${h.state || "unknown"}  score ${h.score}  engine ${h.engine}${h.alive ? "" : "  NOT ALIVE"}`;
  const lines = [head, `  ${h.why}`];
  if (!h.breakdown_published) {
    lines.push("  score breakdown: not published (an older or Python agent)");
  } else {
    const sum = h.penalties.reduce((a, p) => a + p.points, 0);
    const from = `${base} `;
    lines.push(
      h.penalties.length === 0
        ? `  score: ${from}with no penalty`
        : `  score: ${from}minus ${sum} in ${h.penalties.length} penalt${h.penalties.length === 1 ? "y" : "ies"}:`,
    );
    for (const p of h.penalties) lines.push(penaltyLine(p));
  }
  for (const t of h.timers) {
    lines.push(`  timer ${t.name}: ${secs(t.seconds_left)} left, waiting for ${t.waits_for}`);
  }
  return lines.join("\n");
}

/** The text of `he-ha explain`: every host, the local agent's next step, the verdict. */
export function formatExplain(doc: ExplainDoc): string {
  const out: string[] = [];
  if (doc.global_maintenance) out.push("GLOBAL MAINTENANCE is set\n");
  for (const h of doc.hosts) out.push(`${hostText(h, doc.base_score)}\n`);
  out.push(`Next loop of the agent on host ${doc.host_id}: ${doc.next_step.line}`);
  out.push(`Verdict: ${doc.verdict.summary}`);
  return `${out.join("\n")}\n`;
}
