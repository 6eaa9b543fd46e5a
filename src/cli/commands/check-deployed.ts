import type { Command } from "commander";
import { withJson } from "../program.js";

/**
 * `he-ha check-deployed` (hosted-engine --check-deployed): exit 0 when this host is
 * deployed, i.e. its hosted-engine.conf exists and is not empty (the units'
 * ConditionFileNotEmpty), else exit 1 saying which file is missing.
 */
export function register(program: Command): void {
  withJson(
    program
      .command("check-deployed")
      .description(
        "exit 0 when hosted engine is deployed on this host (hosted-engine --check-deployed)",
      ),
  ).action(async (opts: { json?: boolean }) => {
    const { stat } = await import("node:fs/promises");
    const { haPaths } = await import("../../common/paths.js");
    const conf = haPaths().hostConf;
    const size = await stat(conf).then(
      (s) => (s.isFile() ? s.size : 0),
      () => 0,
    );
    const deployed = size > 0;
    if (opts.json) process.stdout.write(`${JSON.stringify({ deployed, conf })}\n`);
    else if (deployed) process.stdout.write(`hosted engine is deployed on this host (${conf})\n`);
    else
      process.stdout.write(
        `hosted engine is not deployed on this host: ${conf} is missing or empty\n`,
      );
    if (!deployed) process.exitCode = 1;
  });
}
