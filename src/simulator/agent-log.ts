/**
 * Which of the real agent's log records make the simulator's timeline, and how they
 * read there: state transitions with their reason, the VM actions and their outcome,
 * lockspace and lease events, and every warning or error (a state machine that stays
 * put logs at debug, which is left out).
 */
export interface AgentRecord {
  level: number;
  msg?: string;
  from?: string;
  state?: string;
  reason?: string;
  action?: string;
  lockspace?: string;
}

const INFO_KEPT = [
  /^engine VM (started|shutdown requested|powered off|already running here)/,
  /^released the engine VM lease/,
  /^engine VM lease released/,
  /^published AgentStopped/,
  /^sanlock lockspace (joined|already joined)/,
  /^lockspace (left|kept)/,
  /^broker reachable again/,
  /^local maintenance set: waiting/,
];

const WARN = 40;

export function timelineText(r: AgentRecord): string | null {
  const msg = r.msg ?? "";
  if (r.from !== undefined && r.state !== undefined && msg.startsWith("state ")) {
    return `${r.from} -> ${r.state}${r.reason ? `: ${r.reason}` : ""}`;
  }
  if (r.level < WARN && !INFO_KEPT.some((re) => re.test(msg))) return null;
  const prefix = r.level >= 50 ? "error: " : r.level >= WARN ? "warn: " : "";
  const where = r.lockspace ? ` (${r.lockspace})` : "";
  return `${r.action ? `${r.action}: ` : ""}${prefix}${msg}${where}`;
}
