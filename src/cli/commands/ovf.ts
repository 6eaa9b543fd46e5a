import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { ovfToVmConf } from "../../storage/ovf/ovf-to-vmconf.js";
import { parseVmConf } from "../../storage/ovf/vmconf.js";
import { CliError } from "../errors.js";
import { group, withJson } from "../program.js";

export function register(program: Command): void {
  const ovf = group(program, "ovf", "engine VM OVF files");
  withJson(
    ovf
      .command("to-vmconf")
      .description(
        "print the vm.conf generated from an OVF file (as the agent does from the OVF_STORE)",
      )
      .argument("<file>", "OVF file"),
  ).action(async (file: string, opts: { json?: boolean }) => {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      throw new CliError(`${file}: cannot read: ${(e as Error).message}`);
    }
    let vmConf: string;
    try {
      vmConf = ovfToVmConf(text);
    } catch (e) {
      throw new CliError(`${file}: ${(e as Error).message}`);
    }
    if (!opts.json) {
      process.stdout.write(vmConf);
      return;
    }
    const parsed = parseVmConf(vmConf, file);
    const { raw, ...typed } = parsed;
    process.stdout.write(
      `${JSON.stringify({ file, vmConf, ...typed, raw: Object.fromEntries(raw) })}\n`,
    );
  });
}
