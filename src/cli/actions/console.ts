import { spawn } from "node:child_process";
import { access } from "node:fs/promises";
import path from "node:path";
import { loadHostConfig } from "../../common/host-config.js";
import { haPaths } from "../../common/paths.js";
import { shellQuote } from "../../common/shell-quote.js";
import { CliError } from "../errors.js";

/** hosted-engine's SASL credentials file for virsh, beside hosted-engine.conf. */
export const VIRSH_AUTH_FILE = "virsh_auth.conf";

/** `uri` with `authfile=<file>` added to its query (kept when it has one). */
export function withAuthFile(uri: string, file: string): string {
  if (/[?&]authfile=/.test(uri)) return uri;
  return `${uri}${uri.includes("?") ? "&" : "?"}authfile=${file}`;
}

/** The virsh argv for the engine VM's console. */
export async function consoleCommand(): Promise<string[]> {
  const paths = haPaths();
  const conf = await loadHostConfig(paths.hostConf);
  if (!conf.vmId)
    throw new CliError(`${paths.hostConf}: vmid is not set: no engine VM to attach to`);
  const auth = path.join(path.dirname(paths.hostConf), VIRSH_AUTH_FILE);
  const hasAuth = await access(auth).then(
    () => true,
    () => false,
  );
  const uri = hasAuth ? withAuthFile(conf.libvirtUri, auth) : conf.libvirtUri;
  return ["virsh", "-c", uri, "console", conf.vmId];
}

export async function console(opts: { print?: boolean }): Promise<void> {
  const argv = await consoleCommand();
  if (opts.print) {
    process.stdout.write(`${argv.map(shellQuote).join(" ")}\n`);
    return;
  }
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: "inherit" });
    child.on("error", (e) =>
      reject(
        new CliError(
          `cannot run virsh: ${(e as NodeJS.ErrnoException).code ?? e.message} (install libvirt-clients / libvirt-client)`,
        ),
      ),
    );
    child.on("close", (c) => resolve(c ?? 1));
  });
  if (code !== 0) process.exitCode = code;
}
