/**
 * The explanation lines an agent adds to the human-readable part of its host block
 * (after byte 512), so any host can explain another's score and timers and compare its
 * configuration. The original's reader (lib/metadata.py parse_metadata_to_dict) keeps
 * that part as one opaque string (`extra`), used only for display, so Python hosts read
 * these blocks unchanged; our decoder keeps every `key=value` line. Values are compact
 * JSON on one line (no newline, no NUL).
 */

/** extra key: `[[name, points, value, threshold], …]` of the published score */
export const PENALTIES_KEY = "penalties";
/** extra key: `[[name, seconds_left], …]`, seconds left when the block was decided */
export const TIMERS_KEY = "timers";
/** extra key: digest of the effective agent.conf `[score]` */
export const SCORE_DIGEST_KEY = "conf_digest_score";
/** extra key: digest of the effective agent.conf `[timing]` */
export const TIMING_DIGEST_KEY = "conf_digest_timing";

export type FactValue = number | boolean | string | null;

export interface PublishedPenalty {
  name: string;
  points: number;
  value: FactValue;
  threshold: FactValue;
}

export interface PublishedTimer {
  name: string;
  seconds_left: number;
}

export interface PublishedFacts {
  penalties: PublishedPenalty[];
  timers: PublishedTimer[];
  scoreDigest: string;
  timingDigest: string;
}

/** What a block that predates these lines (or a Python host's block) yields. */
export interface ReadFacts {
  /** null: the writer published no breakdown (an older or Python agent) */
  penalties: PublishedPenalty[] | null;
  timers: PublishedTimer[] | null;
  scoreDigest: string | null;
  timingDigest: string | null;
}

/** The extra lines for the facts (merged into the block's state keys). */
export function factLines(f: PublishedFacts): Record<string, string> {
  return {
    [PENALTIES_KEY]: JSON.stringify(
      f.penalties.map((p) => [p.name, p.points, p.value, p.threshold]),
    ),
    [TIMERS_KEY]: JSON.stringify(f.timers.map((t) => [t.name, Math.round(t.seconds_left)])),
    [SCORE_DIGEST_KEY]: f.scoreDigest,
    [TIMING_DIGEST_KEY]: f.timingDigest,
  };
}

const isValue = (v: unknown): v is FactValue =>
  v === null || ["number", "boolean", "string"].includes(typeof v);

function parseRows(text: string | undefined): unknown[][] | null {
  if (text === undefined) return null;
  try {
    const rows: unknown = JSON.parse(text);
    if (!Array.isArray(rows) || !rows.every(Array.isArray)) return null;
    return rows as unknown[][];
  } catch {
    return null;
  }
}

/**
 * The facts of a decoded block's extra lines. Missing or unreadable lines give null
 * (another writer's block is never an error here); rows of the wrong shape are dropped.
 */
export function readFacts(extra: Readonly<Record<string, string>>): ReadFacts {
  const pRows = parseRows(extra[PENALTIES_KEY]);
  const tRows = parseRows(extra[TIMERS_KEY]);
  return {
    penalties:
      pRows === null
        ? null
        : pRows.flatMap(([name, points, value, threshold]) =>
            typeof name === "string" &&
            typeof points === "number" &&
            isValue(value) &&
            isValue(threshold)
              ? [{ name, points, value, threshold }]
              : [],
          ),
    timers:
      tRows === null
        ? null
        : tRows.flatMap(([name, left]) =>
            typeof name === "string" && typeof left === "number"
              ? [{ name, seconds_left: left }]
              : [],
          ),
    scoreDigest: extra[SCORE_DIGEST_KEY] ?? null,
    timingDigest: extra[TIMING_DIGEST_KEY] ?? null,
  };
}
