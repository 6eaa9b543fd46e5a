import type { Command } from "commander";
import { withJson } from "../program.js";

// the check and hosted-engine.conf reader load in the action, not at start-up

export function register(program: Command): void {
  withJson(
    program
      .command("liveliness")
      .description(
        "check the engine's health page (hosted-engine --check-liveliness); exit 1 when not healthy",
      )
      .option("--timeout <seconds>", "how long to wait for the engine", "20"),
  ).action(async (opts: { timeout: string; json?: boolean }) =>
    (await import("../actions/liveliness.js")).liveliness(opts),
  );
}
