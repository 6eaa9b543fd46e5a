import { readFile } from "node:fs/promises";
import path from "node:path";
import { STORAGE_LOCKED_REASON } from "./engine-status.js";

/** Written by the agent when a start of the engine VM was refused on the VM lease. */
export const START_FAILURE_FILE = "engine-start-failure.json";

/** How long a recorded start failure keeps the VM reported as "storage locked". */
export const START_FAILURE_TTL_MS = 600_000;

/**
 * The reason of `<runDir>/engine-start-failure.json` (`{"reason": "...", "at": <unix ms>}`)
 * while it is younger than 600 s (the standard "storage locked" text when it has no
 * reason); undefined when absent, stale or unreadable.
 */
export async function freshStartFailure(
  runDir: string,
  nowMs: number = Date.now(),
): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(runDir, START_FAILURE_FILE), "utf8");
  } catch {
    return undefined;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  return startFailureReason(doc, nowMs);
}

/**
 * The reason of a start-failure record (`{"reason", "at": <unix ms>}`) while it is younger
 * than START_FAILURE_TTL_MS at `nowMs`; undefined for anything else. The file above and
 * the simulator's in-memory record both answer through this rule.
 */
export function startFailureReason(doc: unknown, nowMs: number): string | undefined {
  if (typeof doc !== "object" || doc === null) return undefined;
  const { reason, at } = doc as { reason?: unknown; at?: unknown };
  if (typeof at !== "number" || !Number.isFinite(at)) return undefined;
  const age = nowMs - at;
  // a little tolerance for a clock step between the agent's write and this read
  if (age < -60_000 || age >= START_FAILURE_TTL_MS) return undefined;
  return typeof reason === "string" && reason !== "" ? reason : STORAGE_LOCKED_REASON;
}
