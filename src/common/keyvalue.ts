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

/** Parses key=value text. Malformed lines throw ConfigSyntaxError naming file and line. */
export function parseKeyValue(text: string, file = "<text>"): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0)
      throw new ConfigSyntaxError(file, i + 1, `expected key=value, got "${line.slice(0, 80)}"`);
    out.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return out;
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
