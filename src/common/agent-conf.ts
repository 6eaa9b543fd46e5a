import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { ConfigSyntaxError } from "./keyvalue.js";
import { configText, type IniSchema, parseStrictIni } from "./strict-ini.js";
import { resolveTiming, type Timing } from "./timing.js";

/** Score settings of agent.conf `[score]` (behaviour.md §4); names as in the file. */
export interface ScoreConfig {
  "base-score": number;
  "not-uptodate-config-penalty": number;
  "network-score-penalty": number;
  "mgmt-bridge-score-penalty": number;
  "cpu-load-score-penalty": number;
  "cpu-load-penalty-min": number;
  "cpu-load-penalty-max": number;
  "free-memory-score-penalty": number;
  "engine-retry-score-penalty": number;
}

export const DEFAULT_SCORE_CONFIG: Readonly<ScoreConfig> = Object.freeze({
  "base-score": 3400,
  "not-uptodate-config-penalty": 1000,
  "network-score-penalty": 1600,
  "mgmt-bridge-score-penalty": 600,
  "cpu-load-score-penalty": 1000,
  "cpu-load-penalty-min": 0.4,
  "cpu-load-penalty-max": 0.9,
  "free-memory-score-penalty": 400,
  "engine-retry-score-penalty": 50,
});

export interface AgentConf {
  score: ScoreConfig;
  timing: Timing;
}

export class AgentConfError extends Error {
  override name = "AgentConfError";
}

const AGENT_CONF_SCHEMA: IniSchema = {
  score: new Set(Object.keys(DEFAULT_SCORE_CONFIG)),
  // keys checked by resolveTiming (src/common/timing.ts)
  timing: "any",
};

/**
 * Parses agent.conf text (INI, sections [score] and [timing]). Anything else (a line
 * that is not INI, an unknown or misspelt section or key, a non-number) throws
 * AgentConfError naming the file and line.
 */
export function parseAgentConf(text: string, file = "agent.conf"): AgentConf {
  let doc: Map<string, Map<string, string>>;
  try {
    doc = parseStrictIni(text, file, AGENT_CONF_SCHEMA);
  } catch (e) {
    throw new AgentConfError((e as Error).message);
  }
  const score: ScoreConfig = { ...DEFAULT_SCORE_CONFIG };
  const section = doc.get("score");
  if (section) {
    for (const [key, raw] of section) {
      if (!(key in score)) throw new AgentConfError(`${file} [score]: unknown key "${key}"`);
      const n = Number(String(raw).trim());
      if (!Number.isFinite(n))
        throw new AgentConfError(`${file} [score]: ${key}="${raw}" is not a number`);
      score[key as keyof ScoreConfig] = n;
    }
  }
  const timingSection = doc.get("timing");
  let timing: Timing;
  try {
    timing = resolveTiming(timingSection ? Object.fromEntries(timingSection) : {});
  } catch (e) {
    throw new AgentConfError(`${file}: ${(e as Error).message}`);
  }
  return { score, timing };
}

/** Reads agent.conf; a missing file means all defaults. */
export async function loadAgentConf(file: string): Promise<AgentConf> {
  let text = "";
  try {
    text = configText(await readFile(file), file);
  } catch (e) {
    if (e instanceof ConfigSyntaxError) throw new AgentConfError(e.message);
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new AgentConfError(`${file}: cannot read: ${(e as Error).message}`);
    }
  }
  return parseAgentConf(text, file);
}

/** A short digest of one section's effective values (keys sorted): equal values, equal digest. */
function sectionDigest(values: object): string {
  const sorted = Object.entries(values).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash("sha256").update(JSON.stringify(sorted)).digest("hex").slice(0, 12);
}

/**
 * Digests of the effective `[score]` and `[timing]` (defaults applied), published in each
 * host's block so `he-ha doctor` can tell hosts whose weights or timeouts differ.
 */
export function agentConfDigests(conf: AgentConf): { score: string; timing: string } {
  return { score: sectionDigest(conf.score), timing: sectionDigest(conf.timing) };
}
