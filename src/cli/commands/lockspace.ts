import type { Command } from "commander";
import { haPaths } from "../../common/paths.js";
import { CliError } from "../errors.js";
import type { ClusterStatus } from "../format/cluster-status.js";
import { group, withJson } from "../program.js";

/**
 * Why resetting the lockspace is unsafe now, one line per reason (empty when safe):
 * global maintenance must be on and every host's block must say its agent stopped. A
 * block that does not decode cannot say so and blocks too.
 */
export function lockspaceResetBlockers(status: ClusterStatus): string[] {
  const out: string[] = [];
  if (!status.globalMaintenance) {
    out.push("the cluster is not in global maintenance (he-ha maintenance --mode global)");
  }
  for (const { block: b } of status.hosts) {
    if (b.stopped) continue;
    const state = b.extra.state ? `, state ${b.extra.state}` : "";
    out.push(
      `host ${b.hostId} (${b.hostname}): its agent has not stopped (score ${b.score}${state})`,
    );
  }
  for (const e of status.errors) {
    out.push(
      `host ${e.hostId}: its block does not decode (${e.reason}), so it cannot show that its agent stopped`,
    );
  }
  return out;
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
      await broker.resetLockspace();
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
