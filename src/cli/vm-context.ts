import { readFile } from "node:fs/promises";
import type { HostConfig } from "../common/host-config.js";
import { haPaths } from "../common/paths.js";
import type { HaVolumes } from "../storage/domain.js";
import { CliError } from "./errors.js";

/**
 * What the engine VM commands (`he-ha vm …`, `he-ha lease status`) need of this host:
 * hosted-engine.conf, the storage domain's volumes, and vm.conf as the agent would use it.
 */
export interface Context {
  conf: HostConfig;
  volumes: HaVolumes;
}

export async function context(): Promise<Context> {
  const { loadHostConfig } = await import("../common/host-config.js");
  const { haVolumes } = await import("../storage/domain.js");
  const paths = haPaths();
  const conf = await loadHostConfig(paths.hostConf);
  if (!conf.vmId) throw new CliError(`${paths.hostConf}: vmid (the engine VM uuid) is not set`);
  return { conf, volumes: haVolumes(conf, paths) };
}

/** vm.conf as the agent would use it: the generated file, its fallback, then the archive's copy. */
export async function vmConfText(ctx: Context): Promise<{ text: string; source: string }> {
  const paths = haPaths();
  const tried: string[] = [];
  for (const file of [paths.vmConf, paths.vmConfFallback]) {
    try {
      return { text: await readFile(file, "utf8"), source: file };
    } catch (e) {
      tried.push(`${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  if (ctx.volumes.conf) {
    const { readConfMember } = await import("../storage/archive/conf-archive.js");
    try {
      return {
        text: await readConfMember(ctx.volumes.conf, "vm.conf"),
        source: `vm.conf in ${ctx.volumes.conf}`,
      };
    } catch (e) {
      tried.push((e as Error).message);
    }
  }
  throw new CliError(`no vm.conf for the engine VM: ${tried.join("; ")}`);
}

/**
 * `--vm-conf <file>` (hosted-engine --vm-start --vm-conf=, the recovery path): the file
 * must be readable and parse as vm.conf (vdsm_helper create parses it the same way), and
 * its vmId must be this deployment's engine VM (hosted-engine.conf vmid): the state
 * check, the lease and the agent all follow that id. Every failure names the file.
 */
export async function vmConfFromFile(
  ctx: Context,
  file: string,
): Promise<{ text: string; source: string }> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CliError(`--vm-conf ${file}: cannot read: ${err.code ?? err.message}`);
  }
  const { parseVmConf } = await import("../storage/ovf/vmconf.js");
  let vmId: string;
  try {
    vmId = parseVmConf(text, file).vmId;
  } catch (e) {
    throw new CliError(`--vm-conf ${(e as Error).message}`);
  }
  if (vmId !== ctx.conf.vmId)
    throw new CliError(
      `--vm-conf ${file}: vmId=${vmId} is not the engine VM of hosted-engine.conf (vmid=${ctx.conf.vmId})`,
    );
  return { text, source: file };
}
