import { Command, CommanderError } from "commander";
import { CliError } from "./errors.js";

/**
 * Every command file exports `register(program)`. Keep this list sorted; one line per file.
 */
const commandModules: Array<() => Promise<{ register(program: Command): void }>> = [
  // COMMANDS (one import per line, sorted)
];

export async function buildProgram(): Promise<Command> {
  const program = new Command("he-ha")
    .description("Operate hosted-engine HA: status, maintenance, engine VM, storage, demo")
    .showHelpAfterError()
    .exitOverride();
  for (const load of commandModules) (await load()).register(program);
  return program;
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 usage). Never throws. */
export async function main(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram();
    await program.parseAsync(argv, { from: "user" });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version") return 0;
      if (e.code === "commander.help") return 0;
      return 2;
    }
    if (e instanceof CliError) {
      process.stderr.write(`he-ha: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`he-ha: ${(e as Error)?.message ?? String(e)}\n`);
    return 1;
  }
}
