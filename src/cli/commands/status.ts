import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { withJson } from "../program.js";

export function register(program: Command): void {
  withJson(
    program
      .command("status")
      .description("cluster status through the broker (hosted-engine --vm-status)")
      .option("--table", "one line per host instead of the hosted-engine layout")
      .option("--summary", "only the cluster in one line (with --json: as an object)"),
  ).action(async (opts: { json?: boolean; table?: boolean; summary?: boolean }) => {
    if (opts.json && opts.table) throw new UsageError("--json and --table exclude each other");
    if (opts.summary && opts.table)
      throw new UsageError("--summary and --table exclude each other");
    // loaded here, not at startup: every he-ha run registers every command
    const { fetchClusterStatus, withBroker } = await import("../broker-connection.js");
    const { formatStatusTable } = await import("../format/status-table.js");
    const { formatVmStatusText, vmStatusJson } = await import("../format/vm-status.js");
    const { clusterSummary, formatSummaryLine } = await import("../format/summary.js");
    const status = await withBroker(fetchClusterStatus);
    for (const e of status.errors)
      process.stderr.write(`he-ha: host ${e.hostId}: ${e.kind}: ${e.reason}\n`);
    const summary = clusterSummary(status);
    if (opts.summary) {
      process.stdout.write(opts.json ? `${JSON.stringify(summary)}\n` : formatSummaryLine(summary));
      return;
    }
    if (opts.json) {
      // the original's document: host ids and global_maintenance are its only top-level
      // keys (scripts iterate it that way); this host's entry also says which engine VM
      // backend its agent uses (vdsm or libvirt) and its storage domain (type, file or
      // block, the share or iSCSI target). The summary is `--summary --json`.
      const { localVmBackend } = await import("../vm-backend.js");
      const backend = await localVmBackend();
      const doc = vmStatusJson(status);
      const own = backend ? doc[String(backend.hostId)] : undefined;
      if (backend && own && typeof own === "object" && !Array.isArray(own)) {
        own["vm-backend"] = { backend: backend.backend, reason: backend.reason };
        own.storage = backend.storage;
      }
      process.stdout.write(`${JSON.stringify(doc)}\n`);
      return;
    }
    if (opts.table) {
      process.stdout.write(formatStatusTable(status));
      return;
    }
    // the summary first; then the original layout, unchanged but for our "Block updated" lines
    if (status.hosts.length > 0) process.stdout.write(formatSummaryLine(summary));
    process.stdout.write(formatVmStatusText(status));
    if (status.hosts.length === 0) {
      // as hosted-engine --vm-status: nothing to show is a failure
      process.stderr.write("he-ha: no host has published a valid metadata block yet\n");
      process.exitCode = 1;
    }
  });
}
