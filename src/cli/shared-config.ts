import { KEY_VALUE_CONFIG, readKeyValue } from "../common/keyvalue.js";
import { CliError } from "./errors.js";

/**
 * `he-ha config get|set` (hosted-engine --get-shared-config / --set-shared-config): the
 * configuration types of the original client and how a key picks its type. Pure text
 * in, text out; the command does the reading and writing.
 *
 * - he_local:  this host's hosted-engine.conf (key=value)
 * - he_shared: hosted-engine.conf in the configuration archive (key=value)
 * - broker:    broker.conf in the archive (INI; key `section.option`, section `default` when omitted)
 * - vm:        vm.conf in the archive (key=value)
 * - ha:        this host's ha.conf (key=value)
 */
export const CONFIG_TYPES = ["he_local", "he_shared", "broker", "vm", "ha"] as const;
export type ConfigType = (typeof CONFIG_TYPES)[number];

/** hosted-engine.conf keys that exist even when not written (the original's optional keys). */
export const HE_OPTIONAL_KEYS = [
  "iscsi_paths_blacklist",
  "network_test",
  "tcp_t_address",
  "tcp_t_port",
];

export interface ConfigSource {
  type: ConfigType;
  /** where the text came from, for messages (a file, or `archive member (volume)`) */
  where: string;
  format: "keyvalue" | "ini";
  text: string;
  optionalKeys: readonly string[];
}

/** key=value lines as the original reads them: `#` comments, first `=` splits, trimmed; what is not a pair is skipped. */
function keyValueEntries(text: string): Map<string, string> {
  return readKeyValue(text, { ...KEY_VALUE_CONFIG, badLine: "skip" });
}

interface IniLine {
  section: string | undefined;
  option: string | undefined;
  value: string;
}

/** configparser's view of an INI file: `[section]`, `option = value` or `option: value`. */
function iniLines(text: string): IniLine[] {
  let section: string | undefined;
  return text.split(/\r?\n/).map((raw) => {
    const line = raw.trim();
    const head = /^\[([^\]]+)\]$/.exec(line);
    if (head) {
      section = head[1]!.trim();
      return { section, option: undefined, value: "" };
    }
    if (line === "" || line.startsWith("#") || line.startsWith(";"))
      return { section, option: undefined, value: "" };
    const m = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
    if (!m || section === undefined) return { section, option: undefined, value: "" };
    return { section, option: m[1]!.toLowerCase(), value: m[2]! };
  });
}

function iniKey(key: string): [string, string] {
  const dot = key.indexOf(".");
  return dot < 0
    ? ["default", key.toLowerCase()]
    : [key.slice(0, dot), key.slice(dot + 1).toLowerCase()];
}

function iniEntries(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of iniLines(text))
    if (l.option !== undefined) out.set(`${l.section}.${l.option}`, l.value);
  return out;
}

function entries(src: ConfigSource): Map<string, string> {
  return src.format === "ini" ? iniEntries(src.text) : keyValueEntries(src.text);
}

function normalise(src: ConfigSource, key: string): string {
  return src.format === "ini" ? iniKey(key).join(".") : key;
}

export function hasKey(src: ConfigSource, key: string): boolean {
  return entries(src).has(normalise(src, key)) || src.optionalKeys.includes(key);
}

/** The value, or undefined for an optional key that is not written. */
export function getKey(src: ConfigSource, key: string): string | undefined {
  return entries(src).get(normalise(src, key));
}

/** Every key of a source, sorted, optional keys included. */
export function keysOf(src: ConfigSource): string[] {
  return [...new Set([...entries(src).keys(), ...src.optionalKeys])].sort();
}

/**
 * The one source holding `key` (restricted to `type` when given). No source → error
 * naming the types searched; several → error listing them so the operator adds --type.
 */
export function resolveSource(
  sources: readonly ConfigSource[],
  key: string,
  type?: string,
): ConfigSource {
  if (type !== undefined && !(CONFIG_TYPES as readonly string[]).includes(type)) {
    throw new CliError(
      `unknown configuration type "${type}"; the types are: ${CONFIG_TYPES.join(", ")}`,
    );
  }
  const candidates = sources.filter(
    (s) => (type === undefined || s.type === type) && hasKey(s, key),
  );
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length > 1) {
    throw new CliError(
      `key "${key}" is in several configuration types: ${candidates.map((c) => c.type).join(", ")}; choose one with --type`,
    );
  }
  const searched = sources.filter((s) => type === undefined || s.type === type);
  // one place: name it in full; several: their types (the paths made a 700-character line)
  const types =
    searched.length === 1
      ? `${searched[0]!.type} (${searched[0]!.where})`
      : searched.map((s) => s.type).join(", ");
  const hints = suggestKeys(searched, key);
  const hint =
    hints.length > 0
      ? `; did you mean ${hints.map((h) => `${h.key} (--type ${h.type})`).join(" or ")}?`
      : "";
  throw new CliError(`configuration key "${key}" not found in ${types || `type ${type}`}${hint}`);
}

/** Edit distance (Levenshtein), for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(
        prev[j]! + 1,
        cur[j - 1]! + 1,
        prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Keys close to `key`: the same option under a section (`smtp-server` →
 * `email.smtp-server`), or at most 2 edits away (case ignored), best first, at most 3.
 */
export function suggestKeys(
  sources: readonly ConfigSource[],
  key: string,
): Array<{ key: string; type: ConfigType }> {
  const want = key.toLowerCase();
  const scored: Array<{ key: string; type: ConfigType; score: number }> = [];
  for (const src of sources) {
    for (const k of keysOf(src)) {
      const lower = k.toLowerCase();
      const option = lower.slice(lower.indexOf(".") + 1);
      const score = option === want ? 0 : Math.min(distance(want, lower), distance(want, option));
      if (score <= 2) scored.push({ key: k, type: src.type, score });
    }
  }
  return scored
    .sort((a, b) => a.score - b.score || a.key.localeCompare(b.key))
    .slice(0, 3)
    .map(({ key: k, type }) => ({ key: k, type }));
}

/** When a change made with `config set` is used, per type. */
export const TAKES_EFFECT: Readonly<Record<ConfigType, string>> = {
  he_local:
    "read by ovirt-ha-broker and ovirt-ha-agent when they start: systemctl restart ovirt-ha-broker ovirt-ha-agent on this host",
  he_shared:
    "every host's agent copies it from shared storage within one loop (10 s); the daemons read it when they start: restart them on each host",
  broker:
    "every host's agent copies it to /var/lib/ovirt-hosted-engine-ha/broker.conf within one loop (10 s); the broker reads it at each notification",
  vm: "used at the next start of the engine VM (each agent refreshes its vm.conf every loop; an OVF_STORE written by the engine wins over the archive's vm.conf)",
  ha: "read by this host's agent at its next loop (10 s)",
};

/** key=value text with `key` set: the first line of that key replaced, else appended. */
function setKeyValue(text: string, key: string, value: string): string {
  const lines = text.split("\n");
  const at = lines.findIndex(
    (l) =>
      !l.trim().startsWith("#") && l.includes("=") && l.slice(0, l.indexOf("=")).trim() === key,
  );
  if (at >= 0) {
    lines[at] = `${key}=${value}`;
    return lines.join("\n");
  }
  const body = text === "" || text.endsWith("\n") ? text : `${text}\n`;
  return `${body}${key}=${value}\n`;
}

/** INI text with `section.option` set: the option's line replaced, else added to its section (created at the end). */
function setIni(text: string, key: string, value: string): string {
  const [section, option] = iniKey(key);
  const parsed = iniLines(text);
  const lines = text.split(/\r?\n/);
  const at = parsed.findIndex((l) => l.section === section && l.option === option);
  if (at >= 0) {
    lines[at] = `${option} = ${value}`;
    return lines.join("\n");
  }
  let last = -1;
  parsed.forEach((l, i) => {
    if (l.section === section && lines[i]!.trim() !== "") last = i;
  });
  if (last < 0) {
    const body = text === "" || text.endsWith("\n") ? text : `${text}\n`;
    return `${body}[${section}]\n${option} = ${value}\n`;
  }
  lines.splice(last + 1, 0, `${option} = ${value}`);
  return lines.join("\n");
}

/** The source's text with `key` set to `value`, every other line kept as written. */
export function withKeySet(src: ConfigSource, key: string, value: string): string {
  return src.format === "ini" ? setIni(src.text, key, value) : setKeyValue(src.text, key, value);
}
