import type { Finding } from "./checks.js";

const LABEL = { error: "ERROR  ", warning: "WARNING", info: "info   " } as const;

/** The text of `he-ha doctor`: errors, then warnings, then notes, each with its fix. */
export function formatFindings(findings: readonly Finding[]): string {
  const order = { error: 0, warning: 1, info: 2 } as const;
  const sorted = [...findings].sort((a, b) => order[a.severity] - order[b.severity]);
  const lines: string[] = [];
  for (const f of sorted) {
    lines.push(`${LABEL[f.severity]} ${f.check}: ${f.message}`);
    if (f.fix) lines.push(`        fix: ${f.fix}`);
  }
  const errors = findings.filter((f) => f.severity === "error").length;
  const warnings = findings.filter((f) => f.severity === "warning").length;
  lines.push(
    errors + warnings === 0 ? "No problem found." : `${errors} error(s), ${warnings} warning(s).`,
  );
  return `${lines.join("\n")}\n`;
}
