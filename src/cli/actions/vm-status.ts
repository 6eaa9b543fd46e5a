import type { BrokerStatus } from "../../broker/status.js";
import type { EngineStatus } from "../../storage/whiteboard/types.js";
import { toClusterStatus, withBroker } from "../broker-connection.js";
import type { ClusterStatus } from "../format/cluster-status.js";
import { type ClusterSummary, clusterSummary } from "../format/summary.js";

/** What `he-ha vm status --json` prints. */
export interface VmStatusDoc {
  host_id: number;
  hostname: string | null;
  /** this broker's engine-health value (fresh, local); null before the monitor has one */
  here: (Omit<EngineStatus, "health"> & { health: string }) | null;
  /** where it comes from: the engine-health monitor, or this host's last published block */
  source: "engine-health monitor" | "whiteboard block" | null;
  /** live hosts reporting the engine VM up */
  running_on: ClusterSummary["engine"];
}

/** Pure: the document from the broker's status and the cluster view. */
export function vmStatusDoc(s: BrokerStatus, cluster: ClusterStatus): VmStatusDoc {
  const own = s.hosts.find((h) => h.host_id === s.host_id);
  const monitor = s.local.monitors.find((m) => m.type === "engine-health");
  let here: VmStatusDoc["here"] = null;
  let source: VmStatusDoc["source"] = null;
  if (monitor?.value && monitor.value !== "None") {
    try {
      here = JSON.parse(monitor.value) as VmStatusDoc["here"];
      source = "engine-health monitor";
    } catch {
      here = null;
    }
  }
  if (here === null && own?.engine_status) {
    here = own.engine_status;
    source = "whiteboard block";
  }
  return {
    host_id: s.host_id,
    hostname: own?.hostname ?? null,
    here,
    source,
    running_on: clusterSummary(cluster).engine,
  };
}

/** Pure: the text of `he-ha vm status`. */
export function formatVmStatus(d: VmStatusDoc): string {
  const who = `this host (${d.hostname ?? "no block yet"}, id ${d.host_id})`;
  let out: string;
  if (d.here === null) out = `engine VM on ${who}: unknown (no engine-health value yet)\n`;
  else {
    const why = d.here.reason ? `; ${d.here.reason}` : "";
    out = `engine VM on ${who}: ${d.here.vm}, health ${d.here.health} (${d.here.detail}${why})\n`;
  }
  const where =
    d.running_on.length === 0
      ? "not up on any live host"
      : d.running_on.map((e) => `${e.hostname} (id ${e.host_id}), health ${e.health}`).join("; ");
  return `${out}engine VM in the cluster: ${where}\n`;
}

export async function vmStatus(opts: { json?: boolean }): Promise<void> {
  const doc = await withBroker(async (b) => {
    const s = await b.status();
    return vmStatusDoc(s, toClusterStatus(s, b.socketPath));
  });
  process.stdout.write(opts.json ? `${JSON.stringify(doc)}\n` : formatVmStatus(doc));
}
