import type { Command } from "commander";
import { group, withJson } from "../program.js";

// the OVF reader (fast-xml-parser) loads in the action, not at start-up

export function register(program: Command): void {
  const ovf = group(program, "ovf", "engine VM OVF files");
  withJson(
    ovf
      .command("to-vmconf")
      .description(
        "print the vm.conf generated from an OVF file (as the agent does from the OVF_STORE)",
      )
      .argument("<file>", "OVF file"),
  ).action(async (file: string, opts: { json?: boolean }) =>
    (await import("../actions/ovf.js")).ovfToVmConfCommand(file, opts),
  );
}
