import { type Command, Option } from "commander";
import { haPaths } from "../../common/paths.js";
import { CliError } from "../errors.js";
import { withJson } from "../program.js";

type Mode = "global" | "local" | "none";

interface Flags {
  global: boolean;
  local: boolean;
}

function onOff(b: boolean): string {
  return b ? "on" : "off";
}

/** "global maintenance: off -> on" lines, one per flag. */
function describe(before: Flags, after: Flags): string {
  const line = (what: string, a: boolean, b: boolean) =>
    a === b
      ? `${what} maintenance: ${onOff(b)} (unchanged)\n`
      : `${what} maintenance: ${onOff(a)} -> ${onOff(b)}\n`;
  return line("global", before.global, after.global) + line("local", before.local, after.local);
}

/**
 * As hosted-engine --set-maintenance: every mode sets both flags. global → global on and
 * local off; local → local on (local_maintenance and local_maintenance_manual) and global
 * off; none → both off. Local on a VDSM host is refused while VDSM's Host.getVMList
 * lists the engine VM, as set_maintenance.py does. The global block is written through the broker first, so a
 * broker that cannot be reached leaves ha.conf untouched.
 */
export function register(program: Command): void {
  withJson(
    program
      .command("maintenance")
      .description("set or clear maintenance (hosted-engine --set-maintenance --mode=...)")
      .addOption(
        new Option("--mode <mode>", "global: the whole cluster; local: this host; none: clear both")
          .choices(["global", "local", "none"])
          .makeOptionMandatory(),
      ),
  ).action(async (opts: { mode: Mode; json?: boolean }) => {
    // loaded here, not at startup: every he-ha run registers every command
    // local on a VDSM host: refused while VDSM lists the engine VM, before anything changes
    if (opts.mode === "local")
      await (await import("../actions/local-maintenance.js")).refuseIfEngineRunsHere();
    const { readHaConf, writeHaConf } = await import("../../common/ha-conf.js");
    const { fetchClusterStatus, withBroker } = await import("../broker-connection.js");
    const haConfFile = haPaths().haConf;
    const want: Flags = { global: opts.mode === "global", local: opts.mode === "local" };
    const ha = await readHaConf(haConfFile);
    const globalBefore = await withBroker(async (broker) => {
      const before = (await fetchClusterStatus(broker)).globalMaintenance;
      const result = await broker.setGlobalMaintenance(want.global);
      if (!result.written) {
        throw new CliError(
          `the broker at ${broker.socketPath} could not write global maintenance=${onOff(want.global)}: ${result.error ?? "no reason given"}`,
        );
      }
      return before;
    });
    const before: Flags = {
      global: globalBefore,
      local: ha.localMaintenance || ha.localMaintenanceManual,
    };
    await writeHaConf(haConfFile, {
      ...ha,
      localMaintenance: want.local,
      localMaintenanceManual: want.local,
    });
    if (opts.json)
      process.stdout.write(`${JSON.stringify({ mode: opts.mode, before, after: want })}\n`);
    else process.stdout.write(describe(before, want));
  });
}
