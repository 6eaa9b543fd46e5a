import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseKeyValue } from "../common/keyvalue.js";
import { parseState } from "./state.js";

/** One timed command of a scenario: `<seconds> <command> [args...]`. */
export interface ScenarioCommand {
  t: number;
  words: string[];
  /** line number in `cmds`, for errors */
  line: number;
}

/** A scenario folder: README (one line), cluster.conf, cmds, log.expect, optional state. */
export interface Scenario {
  name: string;
  dir: string;
  description: string;
  /** cluster.conf's key=value pairs */
  config: Map<string, string>;
  commands: ScenarioCommand[];
  /** log.expect, null when absent */
  expect: string | null;
  /** the whiteboard the cluster starts from (`state`, see state.ts); none: empty */
  state?: Map<number, Buffer> | undefined;
}

export class ScenarioError extends Error {
  override name = "ScenarioError";
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${file}${line > 0 ? `:${line}` : ""}: ${reason}`);
  }
}

/** Parses a `cmds` file; comments (#) and blank lines are skipped; times must not go back. */
export function parseCommands(text: string, file = "cmds"): ScenarioCommand[] {
  const out: ScenarioCommand[] = [];
  let last = 0;
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    const [time, ...words] = line.split(/\s+/);
    const t = Number(time);
    if (!Number.isFinite(t) || t < 0)
      throw new ScenarioError(file, i + 1, `"${time}" is not a time in seconds`);
    if (t < last) throw new ScenarioError(file, i + 1, `time ${t} is before the previous ${last}`);
    if (words.length === 0) throw new ScenarioError(file, i + 1, "a time without a command");
    last = t;
    out.push({ t, words, line: i + 1 });
  });
  return out;
}

async function readOptional(file: string): Promise<string | null> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

/** Reads a scenario folder; a missing README or cmds, or a bad line, is a ScenarioError. */
export async function loadScenario(dir: string): Promise<Scenario> {
  const readme = await readOptional(path.join(dir, "README"));
  if (readme === null) throw new ScenarioError(path.join(dir, "README"), 0, "missing");
  const cmdsFile = path.join(dir, "cmds");
  const cmds = await readOptional(cmdsFile);
  if (cmds === null) throw new ScenarioError(cmdsFile, 0, "missing");
  const stateFile = path.join(dir, "state");
  const stateText = await readOptional(stateFile);
  const confFile = path.join(dir, "cluster.conf");
  const conf = (await readOptional(confFile)) ?? "";
  return {
    name: path.basename(path.resolve(dir)),
    dir,
    description: readme.trim().split("\n")[0] ?? "",
    config: parseKeyValue(conf, confFile),
    commands: parseCommands(cmds, cmdsFile),
    expect: await readOptional(path.join(dir, "log.expect")),
    state:
      stateText === null
        ? undefined
        : parseState(stateText, (line, why) => new ScenarioError(stateFile, line, why)),
  };
}
