import { ConfigSyntaxError } from "./keyvalue.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A configuration file's bytes as text, refusing what is not text: a NUL byte or bytes
 * that are not UTF-8 (a corrupt or binary file) throw ConfigSyntaxError naming the line.
 */
export function configText(buf: Buffer, file: string): string {
  const line = (offset: number) => {
    let n = 1;
    for (let i = 0; i < offset; i++) if (buf[i] === 0x0a) n++;
    return n;
  };
  const nul = buf.indexOf(0);
  if (nul !== -1)
    throw new ConfigSyntaxError(
      file,
      line(nul),
      `binary content (a NUL byte at byte ${nul}), expected text`,
    );
  try {
    return utf8.decode(buf);
  } catch {
    // find the first byte that does not decode, to name its line
    let ok = 0;
    for (let end = 1; end <= buf.length; end++) {
      try {
        utf8.decode(buf.subarray(0, end));
        ok = end;
      } catch {
        if (end - ok > 4) break;
      }
    }
    throw new ConfigSyntaxError(file, line(ok), `bytes that are not UTF-8 text at byte ${ok}`);
  }
}

/** Sections an INI file may hold, each with the keys it may hold ("any" = not checked here). */
export type IniSchema = Readonly<Record<string, ReadonlySet<string> | "any">>;

/**
 * Parses INI text as Python's configparser reads the files of the original (sections,
 * `key = value` or `key: value`, `#`/`;` comments, indented continuation lines), but
 * refuses instead of guessing: a line that is none of these, a key before any section,
 * a section or key the schema does not list, a repeated section. Every error is a
 * ConfigSyntaxError with the file, the line and what was expected. Keys are lower-cased
 * as configparser does.
 */
export function parseStrictIni(
  text: string,
  file: string,
  schema: IniSchema,
): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  const firstSeen = new Map<string, number>();
  const expected = Object.keys(schema)
    .map((s) => `[${s}]`)
    .join(", ");
  let section: { name: string; keys: Map<string, string> } | undefined;
  let lastKey: string | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = raw.trim();
    const no = i + 1;
    if (line === "" || line.startsWith("#") || line.startsWith(";")) {
      if (line === "") lastKey = undefined;
      continue;
    }
    if (/^\s/.test(raw) && section && lastKey !== undefined) {
      section.keys.set(lastKey, `${section.keys.get(lastKey)}\n${line}`);
      continue;
    }
    const head = /^\[([^\]]*)\]$/.exec(line);
    if (head) {
      const name = head[1]!;
      if (!Object.hasOwn(schema, name))
        throw new ConfigSyntaxError(
          file,
          no,
          `unknown section [${name}], expected one of ${expected}`,
        );
      if (firstSeen.has(name))
        throw new ConfigSyntaxError(
          file,
          no,
          `section [${name}] repeated (first at line ${firstSeen.get(name)})`,
        );
      firstSeen.set(name, no);
      section = { name, keys: new Map() };
      out.set(name, section.keys);
      lastKey = undefined;
      continue;
    }
    const eq = line.search(/[=:]/);
    if (eq <= 0)
      throw new ConfigSyntaxError(
        file,
        no,
        `expected "[section]", "key = value" or a comment, got "${line.slice(0, 60)}"`,
      );
    if (!section)
      throw new ConfigSyntaxError(
        file,
        no,
        `"${line.slice(0, 60)}" before any section, expected one of ${expected} first`,
      );
    const key = line.slice(0, eq).trim().toLowerCase();
    const allowed = schema[section.name]!;
    if (allowed !== "any" && !allowed.has(key))
      throw new ConfigSyntaxError(
        file,
        no,
        `unknown key "${key}" in [${section.name}], expected one of ${[...allowed].join(", ")}`,
      );
    section.keys.set(key, line.slice(eq + 1).trim());
    lastKey = key;
  }
  return out;
}
