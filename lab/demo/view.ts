/**
 * The demo's live terminal view, as a pure function from one cluster sample to text.
 * Redrawn once a second; fits 80 columns.
 */
export interface HostRow {
  id: number;
  name: string;
  /** are the host's agent and broker processes running */
  processes: "up" | "down" | "partial";
  state: string;
  score: number | undefined;
  /** the engine VM as this host's hypervisor reports it: running, paused, - (none), ? (unreachable) */
  vm: string;
  health: string;
  /** the whiteboard says its timestamp is moving (judged by the demo's own clock) */
  alive: boolean | undefined;
  /** lockspace: the host holds its host_id; vmLease: it holds the engine VM's lease */
  lockspace: boolean | undefined;
  vmLease: boolean | undefined;
  maintenance: boolean;
}

export interface ClusterSample {
  /** seconds since the scenario started */
  t: number;
  scenario: string;
  phase: string;
  globalMaintenance: boolean;
  hosts: HostRow[];
  /** latest timeline lines, newest last */
  events: string[];
}

const flag = (v: boolean | undefined, yes: string, no = "-") =>
  v === undefined ? "?" : v ? yes : no;

export function renderView(s: ClusterSample): string {
  const out: string[] = [];
  out.push(`demo  scenario: ${s.scenario}  t=${s.t.toFixed(1)}s  phase: ${s.phase}`);
  if (s.globalMaintenance) out.push("!! Cluster is in GLOBAL MAINTENANCE mode !!");
  out.push("");
  const head = ["id", "host", "procs", "state", "score", "vm", "health", "alive", "lease", "maint"];
  const rows = s.hosts.map((h) => [
    String(h.id),
    h.name.slice(0, 10),
    h.processes,
    h.state.slice(0, 22),
    h.score === undefined ? "?" : String(h.score),
    h.vm,
    h.health,
    flag(h.alive, "yes", "no"),
    `${flag(h.lockspace, "ls")}${h.vmLease ? "+vm" : ""}`,
    h.maintenance ? "local" : "-",
  ]);
  const widths = head.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join(" ")
      .trimEnd();
  out.push(line(head));
  for (const r of rows) out.push(line(r));
  out.push("");
  for (const e of s.events.slice(-8)) out.push(`  ${e.slice(0, 76)}`);
  return `${out.join("\n")}\n`;
}
