import { readFile } from "node:fs/promises";
import ini from "ini";
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

/** Parses agent.conf text (INI). Unknown [score] keys or non-numbers throw AgentConfError. */
export function parseAgentConf(text: string, file = "agent.conf"): AgentConf {
  const doc = ini.parse(text) as Record<string, Record<string, string> | string>;
  const score: ScoreConfig = { ...DEFAULT_SCORE_CONFIG };
  const section = doc.score;
  if (section && typeof section === "object") {
    for (const [key, raw] of Object.entries(section)) {
      if (!(key in score)) throw new AgentConfError(`${file} [score]: unknown key "${key}"`);
      const n = Number(String(raw).trim());
      if (!Number.isFinite(n))
        throw new AgentConfError(`${file} [score]: ${key}="${raw}" is not a number`);
      score[key as keyof ScoreConfig] = n;
    }
  }
  const timingSection = doc.timing;
  let timing: Timing;
  try {
    timing = resolveTiming(timingSection && typeof timingSection === "object" ? timingSection : {});
  } catch (e) {
    throw new AgentConfError(`${file}: ${(e as Error).message}`);
  }
  return { score, timing };
}

/** Reads agent.conf; a missing file means all defaults. */
export async function loadAgentConf(file: string): Promise<AgentConf> {
  let text = "";
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new AgentConfError(`${file}: cannot read: ${(e as Error).message}`);
    }
  }
  return parseAgentConf(text, file);
}
