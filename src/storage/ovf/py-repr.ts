/**
 * Python's `repr()` of str and `str()` of dicts, as the original uses to write vm.conf
 * device lines (`str(dict)` with quotes and spaces removed afterwards).
 */
export type PyValue = string | null | PyDict;
export type PyDict = Map<string, PyValue>;

// Python's str.isprintable() is false for categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs
// (space excepted).
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

function escapeChar(ch: string): string {
  if (ch === "\\") return "\\\\";
  if (ch === "\n") return "\\n";
  if (ch === "\r") return "\\r";
  if (ch === "\t") return "\\t";
  if (ch === " " || !NON_PRINTABLE.test(ch)) return ch;
  const cp = ch.codePointAt(0)!;
  if (cp < 0x100) return `\\x${cp.toString(16).padStart(2, "0")}`;
  if (cp < 0x10000) return `\\u${cp.toString(16).padStart(4, "0")}`;
  return `\\U${cp.toString(16).padStart(8, "0")}`;
}

/** Python 3 `repr(s)` for a str. */
export function pyReprStr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) out += ch === quote ? `\\${ch}` : escapeChar(ch);
  return out + quote;
}

/** Python 3 `repr()` of a value: str, None, or dict (insertion order). */
export function pyRepr(v: PyValue): string {
  if (v === null) return "None";
  if (typeof v === "string") return pyReprStr(v);
  const parts: string[] = [];
  for (const [k, val] of v) parts.push(`${pyReprStr(k)}: ${pyRepr(val)}`);
  return `{${parts.join(", ")}}`;
}

/** A vm.conf `devices=` value: `str(dict)` with every `'` and space removed. */
export function deviceLiteral(d: PyDict): string {
  return pyRepr(d).replaceAll("'", "").replaceAll(" ", "");
}
