import type { Command } from "commander";
import { withJson } from "../program.js";

// the simulator (and the whole agent it runs) loads in the action, not at start-up

export function register(program: Command): void {
  withJson(
    program
      .command("simulate")
      .description(
        "run a scenario folder (README, cluster.conf, cmds) in the cluster simulator and print its timeline: what the agents would do, without a cluster",
      )
      .argument("<scenario-dir>", "a scenario folder, e.g. scenarios/failover-kill")
      .option(
        "--seed <n>",
        "shuffle events due at the same instant and stagger the boots by this seed",
      )
      .option("--check", "compare with the folder's log.expect; exit 1 when it differs"),
  ).action(async (dir: string, opts: { seed?: string; check?: boolean; json?: boolean }) =>
    (await import("../actions/simulate.js")).simulate(dir, opts),
  );
}
