import type { Command } from "commander";
import { resetBlockers } from "../../broker/lockspace-guard.js";
import { haPaths } from "../../common/paths.js";
import { CliError } from "../errors.js";
import type { ClusterStatus } from "../format/cluster-status.js";
import { group, withJson } from "../program.js";

/** The guard of `he-ha lockspace reinit` over the broker's status (src/broker/lockspace-guard.ts). */
export function lockspaceResetBlockers(status: ClusterStatus): string[] {
  return resetBlockers({
    globalMaintenance: status.globalMaintenance,
    blocks: status.hosts.map((h) => h.block),
    errors: status.errors,
  });
}

export function register(program: Command): void {
  withJson(
    group(program, "lockspace", "the sanlock lockspace hosted-engine")
      .command("reinit")
      .description(
        "re-initialise the sanlock lockspace (hosted-engine --reinitialize-lockspace); needs global maintenance and every agent stopped",
      )
      .option("--force", "skip the safety checks, as hosted-engine --force does"),
  ).action(async (opts: { force?: boolean; json?: boolean }) => {
    // loaded here, not at startup: every he-ha run registers every command
    const { fetchClusterStatus, withBroker } = await import("../broker-connection.js");
    const skipped = await withBroker(async (broker) => {
      const blockers = lockspaceResetBlockers(await fetchClusterStatus(broker));
      if (blockers.length > 0 && !opts.force) {
        throw new CliError(
          `refusing to re-initialise the lockspace:\n  ${blockers.join("\n  ")}\n(or use --force)`,
        );
      }
      await broker.resetLockspace(blockers.length > 0);
      return blockers;
    });
    if (opts.json) {
      process.stdout.write(
        `${JSON.stringify({ reinitialized: true, forced: skipped.length > 0, skipped })}\n`,
      );
      return;
    }
    const forced = skipped.length > 0 ? ` (forced past: ${skipped.join("; ")})` : "";
    process.stdout.write(
      `lockspace hosted-engine re-initialised by the broker at ${haPaths().brokerSocket}${forced}\n`,
    );
  });
}
