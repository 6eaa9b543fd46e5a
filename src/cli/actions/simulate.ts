import { runScenario, ScenarioError } from "../../simulator/index.js";
import { CliError, UsageError } from "../errors.js";

export interface SimulateOptions {
  seed?: string;
  check?: boolean;
  json?: boolean;
}

/**
 * `he-ha simulate <dir>`: the scenario's timeline (virtual seconds, host, transition or
 * action), then the invariants; exit 1 when an invariant broke or, with --check, when
 * the timeline differs from log.expect.
 */
export async function simulate(dir: string, opts: SimulateOptions): Promise<void> {
  let seed: number | undefined;
  if (opts.seed !== undefined) {
    seed = Number(opts.seed);
    if (!Number.isInteger(seed) || seed < 0)
      throw new UsageError(`--seed "${opts.seed}" is not a non-negative integer`);
  }
  let run: Awaited<ReturnType<typeof runScenario>>;
  try {
    run = await runScenario(dir, seed === undefined ? {} : { seed });
  } catch (e) {
    if (e instanceof ScenarioError) throw new CliError(e.message);
    if (
      (e as NodeJS.ErrnoException).code === "ENOENT" ||
      (e as NodeJS.ErrnoException).code === "ENOTDIR"
    )
      throw new CliError(`${dir}: not a scenario folder (${(e as Error).message})`);
    throw e;
  }
  const differs = opts.check === true && run.scenario.expect !== run.log;
  if (opts.check && run.scenario.expect === null)
    throw new CliError(`${dir}/log.expect is missing: nothing to compare with`);
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({
        scenario: run.scenario.name,
        description: run.scenario.description,
        seed: seed ?? null,
        timeline: run.entries.map((e) => ({ t: e.t, host: e.who || null, event: e.text })),
        violations: run.violations,
        final_states: run.finalStates,
        vm_running_on: run.vmRunningOn,
        ...(opts.check ? { matches_expect: !differs } : {}),
      })}\n`,
    );
  } else {
    process.stdout.write(`# ${run.scenario.name}: ${run.scenario.description}\n`);
    process.stdout.write(run.log);
    process.stdout.write(
      run.violations.length === 0
        ? "# invariants held: at most one engine VM, always with its lease\n"
        : run.violations.map((v) => `# INVARIANT BROKEN at ${v.t} s: ${v.detail}\n`).join(""),
    );
    if (opts.check)
      process.stdout.write(differs ? "# differs from log.expect\n" : "# matches log.expect\n");
  }
  if (run.violations.length > 0 || differs) process.exitCode = 1;
}
