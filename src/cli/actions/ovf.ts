import { readFile, stat } from "node:fs/promises";
import { INPUT_LIMITS } from "../../storage/archive/limits.js";
import { ovfToVmConfOffThread } from "../../storage/ovf/off-thread.js";
import { parseVmConf } from "../../storage/ovf/vmconf.js";
import { CliError } from "../errors.js";

/** `he-ha ovf to-vmconf FILE`: the vm.conf the agent generates from that OVF. */
export async function ovfToVmConfCommand(file: string, opts: { json?: boolean }): Promise<void> {
  let text: string;
  try {
    const { size } = await stat(file);
    if (size > INPUT_LIMITS.ovf)
      throw new Error(`${size} bytes, more than the limit of ${INPUT_LIMITS.ovf} for an OVF`);
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new CliError(`${file}: cannot read: ${(e as Error).message}`);
  }
  let vmConf: string;
  try {
    vmConf = await ovfToVmConfOffThread(text);
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
}
