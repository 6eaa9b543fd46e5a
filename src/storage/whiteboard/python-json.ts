/**
 * JSON text as Python's `json.dumps(value)` writes it with default options: separators
 * `", "` and `": "`, keys in the order given, every character outside printable ASCII
 * escaped as `\uXXXX` (lowercase hex, surrogate pairs for astral characters), as
 * `ensure_ascii=True` does. Object properties whose value is `undefined` are left out.
 */
export function pythonJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  switch (typeof value) {
    case "string":
      return pythonJsonString(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (Number.isNaN(value)) return "NaN";
      if (value === Number.POSITIVE_INFINITY) return "Infinity";
      if (value === Number.NEGATIVE_INFINITY) return "-Infinity";
      return String(value);
    case "bigint":
      return value.toString();
    case "object":
      if (Array.isArray(value)) return `[${value.map((v) => pythonJson(v)).join(", ")}]`;
      return `{${Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${pythonJsonString(k)}: ${pythonJson(v)}`)
        .join(", ")}}`;
    default:
      throw new TypeError(`pythonJson: cannot serialise a ${typeof value}`);
  }
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
};

/** A JSON string literal, escaped like Python's `ensure_ascii` encoder. */
export function pythonJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const code = s.charCodeAt(i);
    const short = SHORT_ESCAPES[ch];
    if (short !== undefined) out += short;
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}
