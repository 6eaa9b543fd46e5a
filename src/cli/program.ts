import type { Command } from "commander";

/**
 * Returns the sub-command `name` of `parent`, creating it once. Command files that add
 * to the same group (e.g. `metadata dump` and `metadata clean`) share it this way.
 */
export function group(parent: Command, name: string, description: string): Command {
  const found = parent.commands.find((c) => c.name() === name);
  if (found) return found;
  return parent.command(name).description(description);
}

/** Adds `--json` to a command: one JSON document instead of human text. */
export function withJson(cmd: Command): Command {
  return cmd.option("--json", "print one JSON document instead of text");
}
