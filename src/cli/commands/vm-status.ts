import type { Command } from "commander";
import { group, withJson } from "../program.js";

/** `he-ha vm status`: the engine VM as this host sees it, and where it runs in the cluster. */
export function register(program: Command): void {
  withJson(
    group(program, "vm", "the engine VM on this host")
      .command("status")
      .description("the engine VM on this host (its engine-health value) and where it runs"),
  ).action(async (opts: { json?: boolean }) =>
    (await import("../actions/vm-status.js")).vmStatus(opts),
  );
}
