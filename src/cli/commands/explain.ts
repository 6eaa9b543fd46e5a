import type { Command } from "commander";
import { withJson } from "../program.js";

export function register(program: Command): void {
  withJson(
    program
      .command("explain")
      .description(
        "why each host runs or does not run the engine: its score as named penalties, its running timers, this agent's next step and the failover verdict",
      ),
  ).action(async (opts: { json?: boolean }) => {
    const { withBroker } = await import("../broker-connection.js");
    const { formatExplain } = await import("../../explain/format.js");
    const doc = await withBroker((b) =>
      b.getJson<import("../../explain/explain.js").ExplainDoc>("/v1/explain"),
    );
    process.stdout.write(opts.json ? `${JSON.stringify(doc, null, 2)}\n` : formatExplain(doc));
  });
}
