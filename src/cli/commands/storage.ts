import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { initStorageDomain } from "../../storage/init.js";
import { CliError, UsageError } from "../errors.js";
import { group, withJson } from "../program.js";

async function readOptional(file: string | undefined, what: string): Promise<string | undefined> {
  if (file === undefined) return undefined;
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    throw new CliError(`${what} ${file}: cannot read: ${(e as Error).message}`);
  }
}

export function register(program: Command): void {
  const storage = group(program, "storage", "hosted-engine shared storage");
  withJson(
    storage
      .command("init")
      .description(
        "create a complete file storage domain: metadata, initialised sanlock lockspace (+ VM lease area), configuration archive, optional OVF_STORE; prints the hosted-engine.conf lines",
      )
      .requiredOption("--domain <dir>", "storage domain directory to populate")
      .option(
        "--host-conf <file>",
        "hosted-engine.conf to store in the archive (UUID keys are filled in)",
      )
      .option("--vm-conf <file>", "vm.conf to store in the archive (default: generated from --ovf)")
      .option("--ovf <file>", "engine VM OVF: generates vm.conf and an OVF_STORE volume")
      .option("--io-timeout <seconds>", "sanlock io timeout written in the lockspace", "10")
      .option(
        "--sd-uuid <uuid>",
        "storage domain UUID (default: the directory name if it is a UUID, else new)",
      ),
  ).action(
    async (opts: {
      domain: string;
      hostConf?: string;
      vmConf?: string;
      ovf?: string;
      ioTimeout: string;
      sdUuid?: string;
      json?: boolean;
    }) => {
      const ioTimeout = Number(opts.ioTimeout);
      if (!Number.isInteger(ioTimeout) || ioTimeout < 1) {
        throw new UsageError(
          `--io-timeout "${opts.ioTimeout}" is not a positive whole number of seconds`,
        );
      }
      if (opts.vmConf === undefined && opts.ovf === undefined) {
        throw new UsageError("give --vm-conf or --ovf (the archive needs a vm.conf)");
      }
      const hostConf = await readOptional(opts.hostConf, "--host-conf");
      const vmConf = await readOptional(opts.vmConf, "--vm-conf");
      const ovf = await readOptional(opts.ovf, "--ovf");
      const result = await initStorageDomain({
        domain: opts.domain,
        ioTimeout,
        ...(hostConf !== undefined ? { hostConf } : {}),
        ...(vmConf !== undefined ? { vmConf } : {}),
        ...(ovf !== undefined ? { ovf } : {}),
        ...(opts.sdUuid !== undefined ? { sdUUID: opts.sdUuid } : {}),
      });
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({ ...result, confLines: Object.fromEntries(result.confLines) })}\n`,
        );
        return;
      }
      const v = result.volumes;
      let out = `# storage domain ${result.domain} initialised (sanlock io_timeout ${result.ioTimeout}s)\n`;
      out += `# metadata:  ${v.metadata.path}\n# lockspace: ${v.lockspace.path}\n# conf:      ${v.conf.path}\n`;
      if (v.ovfStore) out += `# OVF_STORE: ${v.ovfStore.path}\n`;
      out += "# hosted-engine.conf lines:\n";
      for (const [k, val] of result.confLines) out += `${k}=${val}\n`;
      process.stdout.write(out);
    },
  );
}
