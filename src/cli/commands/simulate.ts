import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { withJson } from "../program.js";

// the simulator (and the whole agent it runs) loads in the action, not at start-up

interface SimulateFlags {
  seed?: string;
  check?: boolean;
  json?: boolean;
  fromLive?: boolean;
  kill?: string;
  maintenance?: string;
  storageLoss?: string;
  gatewayDown?: string;
  restoreAfter?: string;
}

export function register(program: Command): void {
  withJson(
    program
      .command("simulate")
      .description(
        "run a scenario folder (README, cluster.conf, cmds) in the cluster simulator and print its timeline: what the agents would do, without a cluster; with --from-live, the live cluster seen by this host's broker and one what-if",
      )
      .argument("[scenario-dir]", "a scenario folder, e.g. scenarios/failover-kill")
      .option(
        "--seed <n>",
        "shuffle events due at the same instant and stagger the boots by this seed",
      )
      .option("--check", "compare with the folder's log.expect; exit 1 when it differs")
      .option("--from-live", "seed the simulator from the live cluster (this host's broker)")
      .option("--kill <host>", "with --from-live: host N (hostN or N) dies")
      .option("--maintenance <mode>", "with --from-live: local (this host) or global maintenance")
      .option(
        "--storage-loss <host>",
        "with --from-live: host N loses its storage (all: every host, the storage itself)",
      )
      .option("--restore-after <seconds>", "with --storage-loss: the storage comes back after this")
      .option("--gateway-down <host>", "with --from-live: host N's network test fails"),
  ).action(async (dir: string | undefined, opts: SimulateFlags) => {
    const whatIfs = [opts.kill, opts.maintenance, opts.storageLoss, opts.gatewayDown].filter(
      (x) => x !== undefined,
    );
    if (opts.fromLive) {
      if (dir !== undefined) throw new UsageError("--from-live takes no scenario folder");
      if (whatIfs.length !== 1)
        throw new UsageError(
          "--from-live needs exactly one of --kill, --maintenance, --storage-loss, --gateway-down",
        );
      return (await import("../actions/simulate-live.js")).simulateLive(opts);
    }
    if (whatIfs.length > 0) throw new UsageError("--kill and the other what-ifs need --from-live");
    if (dir === undefined) throw new UsageError("a scenario folder is required (or --from-live)");
    return (await import("../actions/simulate.js")).simulate(dir, opts);
  });
}
