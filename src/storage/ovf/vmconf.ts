import { VmConfError } from "./errors.js";
import type { VmConf, VmConfDevice, VmConfValue } from "./vmconf-types.js";

/**
 * vm.conf text ⇄ typed data (behaviour.md §9). Device lines hold Python `str(dict)` with
 * quotes and spaces removed: `{type:graphics,device:spice,address:None}`; a value that
 * starts with `{` (or `[`) is read as a nested dict (or list), `None` as null.
 */

class Cursor {
  pos = 0;
  constructor(
    readonly text: string,
    readonly fail: (reason: string) => never,
    /** added to positions in messages: columns count from the start of the line */
    readonly columnOffset = 0,
  ) {}
  column(at = this.pos): number {
    return at + 1 + this.columnOffset;
  }
  peek(): string | undefined {
    return this.text[this.pos];
  }
  expect(ch: string): void {
    if (this.text[this.pos] !== ch) {
      this.fail(
        `expected "${ch}" at column ${this.column()}, found ${this.peek() === undefined ? "end of line" : `"${this.peek()}"`}`,
      );
    }
    this.pos++;
  }
}

function parseValue(c: Cursor, stops: string): VmConfValue {
  if (c.peek() === "{") return parseDict(c);
  if (c.peek() === "[") return parseList(c);
  const start = c.pos;
  while (c.pos < c.text.length && !stops.includes(c.text[c.pos]!)) c.pos++;
  const raw = c.text.slice(start, c.pos);
  return raw === "None" ? null : raw;
}

function parseDict(c: Cursor): { [key: string]: VmConfValue } {
  c.expect("{");
  const out: { [key: string]: VmConfValue } = {};
  if (c.peek() === "}") {
    c.pos++;
    return out;
  }
  while (true) {
    const start = c.pos;
    while (c.pos < c.text.length && !":,{}".includes(c.text[c.pos]!)) c.pos++;
    const key = c.text.slice(start, c.pos);
    if (key === "") c.fail(`empty key at column ${c.column(start)}`);
    c.expect(":");
    out[key] = parseValue(c, ",}");
    if (c.peek() === ",") {
      c.pos++;
      continue;
    }
    c.expect("}");
    return out;
  }
}

function parseList(c: Cursor): VmConfValue[] {
  c.expect("[");
  const out: VmConfValue[] = [];
  if (c.peek() === "]") {
    c.pos++;
    return out;
  }
  while (true) {
    out.push(parseValue(c, ",]"));
    if (c.peek() === ",") {
      c.pos++;
      continue;
    }
    c.expect("]");
    return out;
  }
}

/** Parses one `devices=` value. */
export function parseDeviceLiteral(
  text: string,
  source = "<devices>",
  line = 0,
  columnOffset = 0,
): VmConfDevice {
  const c = new Cursor(
    text,
    (reason) => {
      throw new VmConfError(source, line, `devices: ${reason}`);
    },
    columnOffset,
  );
  const dict = parseDict(c);
  if (c.pos !== text.length) c.fail(`unexpected text after the dict at column ${c.column()}`);
  return dict;
}

function positiveInt(v: string | undefined, key: string, source: string): number {
  if (v === undefined) throw new VmConfError(source, 0, `${key} is missing`);
  if (!/^\d+$/.test(v))
    throw new VmConfError(source, 0, `${key}="${v}" is not a non-negative integer`);
  return Number(v);
}

/**
 * Parses vm.conf text (comment lines `#` and blank lines ignored). vmId, vmName, memSize
 * and smp are required; malformed lines throw VmConfError with the line number.
 */
export function parseVmConf(text: string, source = "vm.conf"): VmConf {
  const raw = new Map<string, string>();
  const devices: VmConfDevice[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trimEnd();
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0)
      throw new VmConfError(source, i + 1, `expected key=value, got "${line.slice(0, 80)}"`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1);
    if (key === "devices") devices.push(parseDeviceLiteral(value, source, i + 1, eq + 1));
    else raw.set(key, value);
  }
  const need = (k: string): string => {
    const v = raw.get(k);
    if (!v) throw new VmConfError(source, 0, `${k} is missing`);
    return v;
  };
  const conf: VmConf = {
    vmId: need("vmId"),
    vmName: need("vmName"),
    memSize: positiveInt(raw.get("memSize"), "memSize", source),
    smp: positiveInt(raw.get("smp"), "smp", source),
    devices,
    raw,
  };
  if (raw.has("maxVCpus")) conf.maxVCpus = positiveInt(raw.get("maxVCpus"), "maxVCpus", source);
  const optional = [
    "cpuType",
    "emulatedMachine",
    "display",
    "xmlBase64",
    "spiceSecureChannels",
  ] as const;
  for (const k of optional) {
    const v = raw.get(k);
    if (v !== undefined) conf[k] = v;
  }
  return conf;
}

/** A device value written back in vm.conf form. */
export function formatDeviceValue(v: VmConfValue): string {
  if (v === null) return "None";
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return `[${v.map(formatDeviceValue).join(",")}]`;
  return `{${Object.entries(v)
    .map(([k, val]) => `${k}:${formatDeviceValue(val)}`)
    .join(",")}}`;
}

/** vm.conf text of typed data: the raw keys in order, then one `devices=` line per device. */
export function formatVmConf(conf: VmConf): string {
  let s = "";
  for (const [k, v] of conf.raw) s += `${k}=${v}\n`;
  for (const d of conf.devices) s += `devices=${formatDeviceValue(d)}\n`;
  return s;
}
