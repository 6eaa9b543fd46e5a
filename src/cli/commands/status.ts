import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { withJson } from "../program.js";

/** Why `he-ha status` exits 1 in every output form (docs/cli.md). */
export const NO_HOSTS = "no host has published a valid metadata block yet";

type StatusOpts = { json?: boolean; table?: boolean; summary?: boolean };

/** The status in the form asked for (loaded lazily: every he-ha run registers every command). */
async function render(
  status: import("../format/cluster-status.js").ClusterStatus,
  summary: import("../format/summary.js").ClusterSummary,
  opts: StatusOpts,
): Promise<string> {
  const { formatSummaryLine } = await import("../format/summary.js");
  if (opts.summary) return opts.json ? `${JSON.stringify(summary)}\n` : formatSummaryLine(summary);
  if (opts.json) {
    // the original's document: host ids and global_maintenance are its only top-level
    // keys (scripts iterate it that way); this host's entry also says which engine VM
    // backend its agent uses (vdsm or libvirt) and its storage domain (type, file or
    // block, the share or iSCSI target). The summary is `--summary --json`.
    const { vmStatusJson } = await import("../format/vm-status.js");
    const { localVmBackend } = await import("../vm-backend.js");
    const backend = await localVmBackend();
    const doc = vmStatusJson(status);
    const own = backend ? doc[String(backend.hostId)] : undefined;
    if (backend && own && typeof own === "object" && !Array.isArray(own)) {
      own["vm-backend"] = { backend: backend.backend, reason: backend.reason };
      own.storage = backend.storage;
    }
    return `${JSON.stringify(doc)}\n`;
  }
  if (opts.table) return (await import("../format/status-table.js")).formatStatusTable(status);
  // the summary first; then the original layout, unchanged but for our "Block updated" lines
  const { formatVmStatusText } = await import("../format/vm-status.js");
  return (status.hosts.length > 0 ? formatSummaryLine(summary) : "") + formatVmStatusText(status);
}

export function register(program: Command): void {
  withJson(
    program
      .command("status")
      .description("cluster status through the broker (hosted-engine --vm-status)")
      .option("--table", "one line per host instead of the hosted-engine layout")
      .option("--summary", "only the cluster in one line (with --json: as an object)"),
  ).action(async (opts: StatusOpts) => {
    if (opts.json && opts.table) throw new UsageError("--json and --table exclude each other");
    if (opts.summary && opts.table)
      throw new UsageError("--summary and --table exclude each other");
    // loaded here, not at startup: every he-ha run registers every command
    const { fetchClusterStatus, withBroker } = await import("../broker-connection.js");
    const { clusterSummary } = await import("../format/summary.js");
    const status = await withBroker(fetchClusterStatus);
    for (const e of status.errors)
      process.stderr.write(`he-ha: host ${e.hostId}: ${e.kind}: ${e.reason}\n`);
    const summary = clusterSummary(status);
    process.stdout.write(await render(status, summary, opts));
    // one rule for every output form: the document is printed, and a cluster where no
    // host has published a block is a failure (the original exits 1 only in text)
    if (status.hosts.length === 0) {
      process.stderr.write(`he-ha: ${NO_HOSTS}\n`);
      process.exitCode = 1;
    }
  });
}
