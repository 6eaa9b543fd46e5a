import { isUtf8 } from "node:buffer";
import { splitKeyValue } from "../../common/keyvalue.js";
import { endWithoutTrailingNuls, startWithoutLeadingNuls } from "./bytes.js";
import { hex8, maskedLineCrc } from "./crc.js";
import { parsePythonInt } from "./python-int.js";
import {
  type DecodeErrorKind,
  type DecodeResult,
  type EngineStatus,
  FIRST_LINE_SIZE,
  type HostBlock,
  METADATA_FEATURE_VERSION,
  METADATA_PARSE_VERSION,
} from "./types.js";

const PIPE = 0x7c;
const CRC_FIELD = 9;

/** A segment whose first byte is NUL (or that has no bytes) holds no block. */
export function isEmptySegment(segment: Uint8Array): boolean {
  return segment.length === 0 || segment[0] === 0;
}

/**
 * Decodes one host segment following the reading rules of behaviour.md §3. Returns
 * `undefined` for an empty segment (no block: not an error). Never throws: every problem
 * is a typed DecodeError naming the segment's host id and the reason.
 */
export function decodeHostBlock(segment: Buffer, segmentIndex: number): DecodeResult | undefined {
  if (isEmptySegment(segment)) return undefined;
  return decodeSegmentAt(segment, 0, segment.length, segmentIndex, false);
}

/**
 * Decodes the non-empty segment `buf[base, end)` in place (no copy, no view). With
 * `utf8Checked` the caller has already proven those bytes valid UTF-8.
 */
export function decodeSegmentAt(
  buf: Buffer,
  base: number,
  end: number,
  segmentIndex: number,
  utf8Checked: boolean,
): DecodeResult {
  try {
    if (!utf8Checked && !isUtf8(buf.subarray(base, end))) {
      return fail("not-utf8", segmentIndex, "block is not valid UTF-8");
    }
    return decodeNonEmpty(buf, base, end, segmentIndex);
  } catch (e) {
    return fail("malformed", segmentIndex, `cannot decode: ${(e as Error).message}`);
  }
}

function fail(kind: DecodeErrorKind, hostId: number, reason: string): DecodeResult {
  return { ok: false, error: { kind, hostId, reason } };
}

/**
 * Field boundaries of the first line: field i spans [starts[i], starts[i+1] - 1). The
 * line has at most 512 bytes, so at most 513 fields. Reused: decoding is synchronous.
 */
const starts = new Int32Array(FIRST_LINE_SIZE + 2);

/**
 * Works on the bytes: the numeric fields are parsed in place and only the strings a
 * HostBlock holds are created, which keeps a 2000-host decode cheap on the GC.
 */
function decodeNonEmpty(seg: Buffer, base: number, segEnd: number, id: number): DecodeResult {
  if (segEnd - base < FIRST_LINE_SIZE) {
    return fail("malformed", id, `received ${segEnd - base} of ${FIRST_LINE_SIZE} expected bytes`);
  }
  const lineEnd = endWithoutTrailingNuls(seg, base, base + FIRST_LINE_SIZE);

  // the leading digits are the parse version (the original: re.match(r"\d+"))
  let p = base;
  let parseVersion = 0;
  for (; p < lineEnd; p++) {
    const d = seg[p]! - 48;
    if (d < 0 || d > 9) break;
    parseVersion = parseVersion * 10 + d;
  }
  if (p === base) {
    return fail("malformed", id, `non-parsable metadata version in "${text(seg, base, lineEnd)}"`);
  }
  if (parseVersion > METADATA_FEATURE_VERSION) {
    return fail(
      "too-new",
      id,
      `metadata version ${text(seg, base, p)} too new for this agent (highest compatible version: ${METADATA_FEATURE_VERSION})`,
    );
  }

  let n = 1;
  starts[0] = base;
  for (
    let at = seg.indexOf(PIPE, base);
    at !== -1 && at < lineEnd;
    at = seg.indexOf(PIPE, at + 1)
  ) {
    starts[n++] = at + 1;
  }
  starts[n] = lineEnd + 1;
  if (n < 7) return fail("malformed", id, `received ${n} of 7 expected tokens`);

  const featureVersion = intField(seg, 1);
  if (featureVersion === undefined) {
    return fail("malformed", id, `non-parsable metadata version "${clipped(field(seg, 1))}"`);
  }
  if (featureVersion < METADATA_PARSE_VERSION) {
    return fail(
      "too-old",
      id,
      `metadata version ${featureVersion} too old for this agent (lowest compatible version: ${METADATA_PARSE_VERSION})`,
    );
  }

  const timestamp = intField(seg, 2);
  if (timestamp === undefined) return notInt(seg, id, 2, "timestamp");
  const score = intField(seg, 4);
  if (score === undefined) return notInt(seg, id, 4, "score");
  const maintenance = n >= 8 ? intField(seg, 7) : 0;
  if (maintenance === undefined) return notInt(seg, id, 7, "maintenance");
  const stopped = n >= 9 ? intField(seg, 8) : 0;
  if (stopped === undefined) return notInt(seg, id, 8, "stopped");
  let crc32 = "";
  if (n > CRC_FIELD) {
    const start = starts[CRC_FIELD]!;
    const end = starts[CRC_FIELD + 1]! - 1;
    const expected = maskedLineCrc(seg, base, lineEnd, start, end);
    crc32 = seg.toString("utf8", start, end);
    if (parseHex8(seg, start, end) !== expected) {
      return fail(
        "bad-crc",
        id,
        `provided checksum ${clipped(field(seg, CRC_FIELD))} does not match the data ${hex8(expected)}`,
      );
    }
  }
  const conf = n >= 12 ? intField(seg, 10) : 0;
  if (conf === undefined) return notInt(seg, id, 10, "conf_on_shared_storage");
  const vmConfRefreshTime = n >= 12 ? intField(seg, 11) : 0;
  if (vmConfRefreshTime === undefined) return notInt(seg, id, 11, "vm_conf_refresh_time");

  if (intField(seg, 3) !== id) {
    return fail(
      "id-mismatch",
      id,
      `block claims host id "${clipped(field(seg, 3))}" but sits in segment ${id}`,
    );
  }

  const engineStatusRaw = field(seg, 5);
  const extraText = humanReadableText(seg, base + FIRST_LINE_SIZE, segEnd);
  return {
    ok: true,
    block: new DecodedHostBlock(
      parseVersion,
      featureVersion,
      timestamp,
      id,
      score,
      engineStatusRaw,
      parseEngineStatus(engineStatusRaw),
      field(seg, 6),
      maintenance > 0,
      stopped > 0,
      crc32,
      conf > 0,
      vmConfRefreshTime,
      extraText,
    ),
  };
}

/**
 * A decoded HostBlock. `extra` is an own enumerable property (JSON, spread and equality
 * see it like any other) parsed on first read: most readers (agent, broker) never look at
 * the human-readable part, and parsing it eagerly dominated the whiteboard decode. One
 * shared accessor and private fields keep each block small.
 */
class DecodedHostBlock implements HostBlock {
  declare extra: Record<string, string>;
  #extraText: string;
  #extra: Record<string, string> | undefined;
  constructor(
    public parseVersion: number,
    public featureVersion: number,
    public timestamp: number,
    public hostId: number,
    public score: number,
    public engineStatusRaw: string,
    public engineStatus: EngineStatus | undefined,
    public hostname: string,
    public maintenance: boolean,
    public stopped: boolean,
    public crc32: string,
    public confOnSharedStorage: boolean,
    public vmConfRefreshTime: number,
    extraText: string,
  ) {
    this.#extraText = extraText;
    Object.defineProperty(this, "extra", DecodedHostBlock.extraProperty);
  }
  static readonly extraProperty: PropertyDescriptor = {
    enumerable: true,
    configurable: true,
    get(this: DecodedHostBlock) {
      this.#extra ??= parseExtra(this.#extraText);
      return this.#extra;
    },
    set(this: DecodedHostBlock, v: Record<string, string>) {
      this.#extra = v;
    },
  };
}

/** Field i of the current first line as text. */
function field(seg: Buffer, i: number): string {
  return seg.toString("utf8", starts[i]!, starts[i + 1]! - 1);
}

/** Field i as Python's int() reads it: ASCII digits in place, anything else via text. */
function intField(seg: Buffer, i: number): number | undefined {
  const s = starts[i]!;
  const e = starts[i + 1]! - 1;
  if (e > s && e - s < 16) {
    let v = 0;
    let k = s;
    for (; k < e; k++) {
      const d = seg[k]! - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
    }
    if (k === e) return v;
  }
  return parsePythonInt(seg.toString("utf8", s, e));
}

/** Exactly 8 lowercase hex digits (as `%08x` writes them) → value; otherwise -1. */
function parseHex8(seg: Buffer, s: number, e: number): number {
  if (e - s !== 8) return -1;
  let v = 0;
  for (let k = s; k < e; k++) {
    const c = seg[k]!;
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

function notInt(seg: Buffer, id: number, i: number, name: string): DecodeResult {
  return fail(
    "malformed",
    id,
    `field ${i + 1} (${name}) "${clipped(field(seg, i))}" is not an integer`,
  );
}

const statusCache = new Map<string, EngineStatus | undefined>();
const STATUS_CACHE_MAX = 256;

/**
 * Field 6 as EngineStatus; undefined unless it is a JSON object with string vm/health.
 * Hosts mostly publish the same few statuses: parsed ones are remembered (each block
 * still gets its own copy).
 */
function parseEngineStatus(raw: string): EngineStatus | undefined {
  let status = statusCache.get(raw);
  if (status === undefined && !statusCache.has(raw)) {
    status = parseEngineStatusJson(raw);
    if (statusCache.size >= STATUS_CACHE_MAX) statusCache.clear();
    statusCache.set(raw, status);
  }
  return status === undefined ? undefined : { ...status };
}

function parseEngineStatusJson(raw: string): EngineStatus | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.vm !== "string" || typeof o.health !== "string") return undefined;
  const status: EngineStatus = {
    vm: o.vm as EngineStatus["vm"],
    health: o.health as EngineStatus["health"],
    detail: typeof o.detail === "string" ? o.detail : "",
  };
  if (typeof o.reason === "string") status.reason = o.reason;
  return status;
}

/** The human-readable part `seg[from, segEnd)` without the NUL padding. */
function humanReadableText(seg: Buffer, from: number, segEnd: number): string {
  if (segEnd <= from) return "";
  const end = endWithoutTrailingNuls(seg, from, segEnd);
  const start = startWithoutLeadingNuls(seg, from, end);
  return start >= end ? "" : seg.toString("utf8", start, end);
}

/** `key=value` lines (lines without `=` skipped), in order. */
function parseExtra(s: string): Record<string, string> {
  const extra: Record<string, string> = {};
  if (s === "") return extra;
  for (const line of s.split("\n")) {
    // another host's metadata: values byte for byte, unreadable lines skipped
    const kv = splitKeyValue(line);
    if (kv === null || kv.key === "__proto__") continue;
    extra[kv.key] = kv.value;
  }
  return extra;
}

/** Bytes as text for an error message, clipped. */
function text(seg: Buffer, s: number, e: number): string {
  const t = seg.toString("utf8", s, Math.min(e, s + 60));
  return e - s > 60 ? `${t}...` : t;
}

function clipped(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}...` : s;
}
