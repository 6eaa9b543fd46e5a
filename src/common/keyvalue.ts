/**
 * `key=value` files (hosted-engine.conf, ha.conf, vm.conf, the global whiteboard block):
 * one pair per line, no sections, `#` comments, first `=` splits.
 */
export class ConfigSyntaxError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = "ConfigSyntaxError";
  }
}

/** One `key=value` line split at its first `=`; null when there is no `=` or no key before it. */
export function splitKeyValue(line: string): { key: string; value: string } | null {
  const eq = line.indexOf("=");
  if (eq <= 0) return null;
  return { key: line.slice(0, eq), value: line.slice(eq + 1) };
}

/**
 * How lenient a `key=value` reader is. Every reader of the project says which of these
 * it is (see KEY_VALUE_CONFIG and the storage readers), so the differences are explicit:
 * configuration files trim and refuse bad lines; on-disk metadata written by VDSM or by
 * other hosts keeps values byte for byte and skips what it cannot read.
 */
export interface KeyValueLeniency {
  /** lines starting with `#` (after leading blanks) are comments */
  comments: boolean;
  /** trim the key and the value ("both"), only the key ("key"), or neither ("none") */
  trim: "both" | "key" | "none";
  /** a line without `=` or without a key: "throw" ConfigSyntaxError naming file and line, or "skip" it */
  badLine: "throw" | "skip";
  /** stop reading at a line equal to this (VDSM's `.meta` files end with `EOF`) */
  stopAt?: string;
}

/** hosted-engine.conf, ha.conf, broker's key=value files, scenario files: the original's reader. */
export const KEY_VALUE_CONFIG: Readonly<KeyValueLeniency> = Object.freeze({
  comments: true,
  trim: "both",
  badLine: "throw",
});

/** Reads `key=value` lines with the given leniency; a later key replaces an earlier one. */
export function readKeyValue(
  text: string,
  leniency: KeyValueLeniency,
  file = "<text>",
): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (leniency.stopAt !== undefined && raw === leniency.stopAt) break;
    if (raw.trim() === "" || (leniency.comments && raw.trimStart().startsWith("#"))) continue;
    const line = leniency.trim === "both" ? raw.trim() : raw;
    const kv = splitKeyValue(line);
    if (kv === null || (leniency.trim !== "none" && kv.key.trim() === "")) {
      if (leniency.badLine === "skip") continue;
      throw new ConfigSyntaxError(file, i + 1, `expected key=value, got "${line.slice(0, 80)}"`);
    }
    const key = leniency.trim === "none" ? kv.key : kv.key.trim();
    out.set(key, leniency.trim === "both" ? kv.value.trim() : kv.value);
  }
  return out;
}

/** Parses key=value configuration text (KEY_VALUE_CONFIG): malformed lines throw ConfigSyntaxError. */
export function parseKeyValue(text: string, file = "<text>"): Map<string, string> {
  return readKeyValue(text, KEY_VALUE_CONFIG, file);
}

/** Serialises pairs as `key=value` lines, in insertion order, with a trailing newline. */
export function formatKeyValue(pairs: Iterable<[string, string]>): string {
  let s = "";
  for (const [k, v] of pairs) s += `${k}=${v}\n`;
  return s;
}

const TRUE = new Set(["true", "1", "yes", "y", "on"]);
const FALSE = new Set(["false", "0", "no", "n", "off", ""]);

/** Booleans are written True/False; readers accept 1/0/yes/no too. Unknown → undefined. */
export function parseBool(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  return undefined;
}

/**
 * Python's `str(bool)`: the one home for `True`/`False` in files, blocks, monitor values
 * and CLI output.
 */
export function formatBool(value: boolean): "True" | "False" {
  return value ? "True" : "False";
}
