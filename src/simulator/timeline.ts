/** One line of a simulated run: virtual seconds, who, what. */
export interface TimelineEntry {
  t: number;
  /** "host2", or "" for the scenario's own commands and cluster-wide checks */
  who: string;
  text: string;
}

function formatTime(t: number): string {
  return (Number.isInteger(t) ? String(t) : t.toFixed(1)).padStart(6);
}

/** `   130 host2  EngineDown -> EngineStart: ...` (commands are shown as `>> ...`). */
export function formatEntry(e: TimelineEntry): string {
  return `${formatTime(e.t)} ${(e.who || "--").padEnd(6)} ${e.text}`;
}

export function formatTimeline(entries: readonly TimelineEntry[]): string {
  return entries.map((e) => `${formatEntry(e)}\n`).join("");
}
