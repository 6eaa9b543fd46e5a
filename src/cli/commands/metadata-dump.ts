import type { Command } from "commander";
import { group, withJson } from "../program.js";

// the reader and decoder (direct I/O, the whiteboard codec) load in the action, not at start-up
export type { MetadataDump } from "../actions/metadata-dump.js";

export function register(program: Command): void {
  withJson(
    group(program, "metadata", "the shared whiteboard (metadata volume)")
      .command("dump")
      .description("print every block of the whiteboard, read straight from storage")
      .option("--file <path>", "the metadata volume (default: from hosted-engine.conf)"),
  ).action(async (opts: { file?: string; json?: boolean }) =>
    (await import("../actions/metadata-dump.js")).dumpMetadata(opts),
  );
}
