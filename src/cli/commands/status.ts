import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { withJson } from "../program.js";

export function register(program: Command): void {
  withJson(
    program
      .command("status")
      .description("cluster status through the broker (hosted-engine --vm-status)")
      .option("--table", "one line per host instead of the hosted-engine layout"),
  ).action(async (opts: { json?: boolean; table?: boolean }) => {
    if (opts.json && opts.table) throw new UsageError("--json and --table exclude each other");
    // loaded here, not at startup: every he-ha run registers every command
    const { fetchClusterStatus, withBroker } = await import("../broker-connection.js");
    const { formatStatusTable } = await import("../format/status-table.js");
    const { formatVmStatusText, vmStatusJson } = await import("../format/vm-status.js");
    const status = await withBroker(fetchClusterStatus);
    for (const e of status.errors)
      process.stderr.write(`he-ha: host ${e.hostId}: ${e.kind}: ${e.reason}\n`);
    if (opts.json) {
      const { localVmBackend } = await import("../vm-backend.js");
      const backend = await localVmBackend();
      const doc = { ...vmStatusJson(status), ...(backend ? { vm_backend: backend } : {}) };
      process.stdout.write(`${JSON.stringify(doc)}\n`);
      return;
    }
    if (opts.table) {
      process.stdout.write(formatStatusTable(status));
      return;
    }
    process.stdout.write(formatVmStatusText(status));
    if (status.hosts.length === 0) {
      // as hosted-engine --vm-status: nothing to show is a failure
      process.stderr.write("he-ha: no host has published a valid metadata block yet\n");
      process.exitCode = 1;
    }
  });
}
