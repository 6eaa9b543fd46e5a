import { Command, CommanderError } from "commander";
import { versionLine } from "../common/version.js";
import { aliasHelp, rewriteAliases, UNSUPPORTED, unsupportedVerb } from "./aliases.js";
import { CliError } from "./errors.js";

/**
 * Every command file exports `register(program)`. Keep this list sorted; one line per file.
 * Every he-ha run loads all of them before parsing argv, so a command file only declares
 * (name, options, help); its action does `await import()` of what it runs (src/cli/actions/).
 */
const commandModules: Array<() => Promise<{ register(program: Command): void }>> = [
  // COMMANDS (one import per line, sorted)
  () => import("./commands/archive.js"),
  () => import("./commands/check-deployed.js"),
  () => import("./commands/completion.js"),
  () => import("./commands/config.js"),
  () => import("./commands/console.js"),
  () => import("./commands/doctor.js"),
  () => import("./commands/explain.js"),
  () => import("./commands/liveliness.js"),
  () => import("./commands/lease.js"),
  () => import("./commands/lockspace.js"),
  () => import("./commands/maintenance.js"),
  () => import("./commands/metadata-clean.js"),
  () => import("./commands/metadata-dump.js"),
  () => import("./commands/metrics.js"),
  () => import("./commands/ovf.js"),
  () => import("./commands/simulate.js"),
  () => import("./commands/status.js"),
  () => import("./commands/storage.js"),
  () => import("./commands/vm-status.js"),
  () => import("./commands/vm.js"),
];

export async function buildProgram(): Promise<Command> {
  const program = new Command("he-ha")
    .description("Operate hosted-engine HA: status, maintenance, engine VM, storage, simulate")
    .version(versionLine("he-ha"), "-V, --version", "print the version and exit")
    .showHelpAfterError()
    .exitOverride()
    .addHelpText("after", aliasHelp());
  const modules = await Promise.all(commandModules.map((load) => load()));
  for (const m of modules) m.register(program);
  return program;
}

/**
 * Runs the CLI; returns the exit code (0 ok, 1 failure, 2 usage). Never throws. With
 * `--json` anywhere on the line, a failure is one JSON document on stdout too:
 * `{"error": {"message": "...", "exit_code": N}}` (the message also goes to stderr).
 */
export async function main(argv: string[]): Promise<number> {
  // each run decides its own exit code (tests call main() several times in one process)
  process.exitCode = undefined;
  const json = argv.includes("--json");
  const fail = (message: string, code: number): number => {
    process.stderr.write(`he-ha: ${message}\n`);
    if (json) process.stdout.write(`${JSON.stringify({ error: { message, exit_code: code } })}\n`);
    return code;
  };
  const unsupported = unsupportedVerb(argv);
  if (unsupported !== undefined)
    return fail(`hosted-engine ${unsupported} is not supported: ${UNSUPPORTED[unsupported]}`, 2);
  try {
    const program = await buildProgram();
    if (json) {
      // commander's own usage errors become the JSON document below, not text
      const quiet = (c: Command): void => {
        c.configureOutput({ writeErr: () => undefined, outputError: () => undefined });
        c.showHelpAfterError(false);
        for (const sub of c.commands) quiet(sub);
      };
      quiet(program);
    }
    await program.parseAsync(rewriteAliases(argv), { from: "user" });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version") return 0;
      if (e.code === "commander.help") return 0;
      return json ? fail(e.message.replace(/^error: /, ""), 2) : 2;
    }
    if (e instanceof CliError) return fail(e.message, e.exitCode);
    return fail((e as Error)?.message ?? String(e), 1);
  }
}
