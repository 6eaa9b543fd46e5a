#!/usr/bin/env node
/**
 * `npm run demo` / `npm run chaos`: a real hosted-engine HA cluster on this machine
 * (sanlock, libvirtd, brokers, agents per host) through a scenario. Part of the lab, not
 * of the installed product: it starts the compiled product binaries (dist/src/bin/).
 */
import { Command, CommanderError } from "commander";
import { isScenarioName, SCENARIO_NAMES } from "../demo/scenario-names.js";
import { DEMO_STORAGE_KINDS, isDemoStorageKind } from "../demo/storage-kind.js";

/** Wrong words on the command line: exit 2. */
class UsageError extends Error {
  override name = "UsageError";
}

interface DemoOptions {
  hosts: string;
  scenario: string;
  ioTimeout: string;
  storage: string;
  sectorSize: string;
  json?: boolean;
  hold?: boolean;
  duration: string;
  seed: string;
}

function program(): Command {
  return new Command("demo")
    .description(
      "run a real hosted-engine HA cluster on this machine (sanlock, libvirtd, brokers, agents per host) through a scenario",
    )
    .option("--hosts <n>", "number of simulated hosts", "3")
    .option(
      "--scenario <name>",
      `one of: ${SCENARIO_NAMES.join(", ")}, all, chaos (the fault campaign)`,
      "failover",
    )
    .option("--duration <seconds>", "chaos: seconds of fault injection", "300")
    .option("--seed <n>", "chaos: seed of the fault generator (same seed, same faults)", "1")
    .option("--io-timeout <seconds>", "sanlock I/O timeout; every HA timing scales with it", "1")
    .option(
      "--storage <kind>",
      "gluster: a GlusterFS volume each host mounts itself; local: a directory (domain_path); block: an iSCSI domain behind a VDSM protocol server per host, its LVs loop devices",
      "gluster",
    )
    .option(
      "--sector-size <bytes>",
      "block storage: the LVs' logical sector size, 512 or 4096",
      "512",
    )
    .option(
      "--hold",
      "keep the cluster running after the scenario, until Ctrl-C, to try he-ha against it",
    )
    .option("--json", "print one JSON document instead of text")
    .showHelpAfterError()
    .exitOverride();
}

async function run(opts: DemoOptions): Promise<number> {
  const hosts = Number(opts.hosts);
  if (!Number.isInteger(hosts) || hosts < 2 || hosts > 8)
    throw new UsageError(`--hosts ${opts.hosts}: a number from 2 to 8`);
  const ioTimeout = Number(opts.ioTimeout);
  if (!Number.isFinite(ioTimeout) || ioTimeout < 1 || ioTimeout > 10) {
    throw new UsageError(`--io-timeout ${opts.ioTimeout}: 1 to 10 seconds`);
  }
  if (!isDemoStorageKind(opts.storage))
    throw new UsageError(`--storage ${opts.storage}: one of ${DEMO_STORAGE_KINDS.join(", ")}`);
  const storage = opts.storage;
  if (opts.sectorSize !== "512" && opts.sectorSize !== "4096")
    throw new UsageError(`--sector-size ${opts.sectorSize}: 512 or 4096`);
  const sectorSize = opts.sectorSize === "4096" ? 4096 : 512;
  if (sectorSize === 4096 && storage !== "block")
    throw new UsageError("--sector-size 4096 needs --storage block (loop devices with 4K sectors)");
  const names = opts.scenario === "all" ? [...SCENARIO_NAMES] : [opts.scenario];
  const duration = Number(opts.duration);
  const seed = Number(opts.seed);
  if (!Number.isFinite(duration) || duration <= 0)
    throw new UsageError(`--duration ${opts.duration}: a number of seconds above 0`);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed ${opts.seed}: an integer`);
  for (const n of names) {
    if (n !== "chaos" && !isScenarioName(n))
      throw new UsageError(`unknown scenario "${n}": one of ${SCENARIO_NAMES.join(", ")}, all`);
  }
  if (process.getuid?.() !== 0)
    throw new UsageError("the demo needs root (sanlock, libvirtd mount namespaces, bridges)");
  const { runDemo, summary } = await import("../demo/run.js");
  const results = [];
  for (const scenario of names) {
    const r = await runDemo({
      hosts,
      scenario,
      json: opts.json === true,
      ioTimeout,
      storage,
      ...(storage === "block" ? { sectorSize } : {}),
      hold: opts.hold === true,
      duration,
      seed,
    });
    results.push(r);
    if (!opts.json) process.stdout.write(summary(r));
  }
  if (opts.json)
    process.stdout.write(
      `${JSON.stringify(results.length === 1 ? results[0] : results, null, 2)}\n`,
    );
  if (results.some((r) => r.error === "interrupted")) return 130;
  return results.some((r) => !r.ok) ? 1 : 0;
}

/** Exit code: 0 ok, 1 a scenario failed, 2 usage, 130 interrupted. */
async function main(argv: string[]): Promise<number> {
  const cmd = program();
  try {
    cmd.parse(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError)
      return e.code === "commander.helpDisplayed" || e.code === "commander.help" ? 0 : 2;
    throw e;
  }
  try {
    return await run(cmd.opts<DemoOptions>());
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`demo: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`demo: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
