import { formatBool } from "../../common/keyvalue.js";
import { crc32Hex } from "./crc.js";
import { pythonCtime } from "./ctime.js";
import { WhiteboardEncodeError } from "./errors.js";
import { pythonJson } from "./python-json.js";
import {
  type EngineStatus,
  FIRST_LINE_SIZE,
  type HostBlockInput,
  MAX_HOST_ID,
  METADATA_FEATURE_VERSION,
  METADATA_PARSE_VERSION,
  SEGMENT_SIZE,
} from "./types.js";

const CRC_FIELD = 9;

/**
 * The 4096-byte segment a host writes about itself (behaviour.md §3): the `|`-separated
 * first line NUL-padded in bytes 0..511, then the human-readable `key=value` part from
 * byte 512, NUL-padded. Byte-identical to what the original agent writes for the same
 * values. Throws WhiteboardEncodeError when a value would not fit or would break framing.
 *
 * Like the original (which pads Python strings, then encodes), the first line is padded
 * to 512 *characters*: for an all-ASCII line (the normal case) the extra part starts at
 * byte 512; a non-ASCII hostname moves it later by the extra UTF-8 bytes, so Python
 * readers, which cut at character 512, still find the line intact. Our reader skips the
 * NULs either way.
 */
export function encodeHostBlock(input: HostBlockInput): Buffer {
  checkInput(input);
  const lineText = firstLineText(input);
  const line = Buffer.from(lineText, "utf8");
  if (line.length > FIRST_LINE_SIZE) {
    throw new WhiteboardEncodeError(
      "first-line-too-long",
      input.hostId,
      `first line is ${line.length} bytes, the limit is ${FIRST_LINE_SIZE} (hostname "${input.hostname.slice(0, 60)}")`,
    );
  }
  const extraAt = FIRST_LINE_SIZE + line.length - codePoints(lineText);
  const extra = Buffer.from(humanReadablePart(input), "utf8");
  if (extraAt + extra.length > SEGMENT_SIZE) {
    throw new WhiteboardEncodeError(
      "extra-too-long",
      input.hostId,
      `human-readable part is ${extra.length} bytes, only ${SEGMENT_SIZE - extraAt} fit`,
    );
  }
  const out = Buffer.alloc(SEGMENT_SIZE);
  line.copy(out, 0);
  extra.copy(out, extraAt);
  return out;
}

/** Length in Unicode code points (Python's len() of a str). */
function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** The first line with the real CRC in field 10. */
function firstLineText(input: HostBlockInput): string {
  const fields = [
    String(METADATA_PARSE_VERSION),
    String(METADATA_FEATURE_VERSION),
    String(input.timestamp),
    String(input.hostId),
    String(input.score),
    engineStatusJson(input.engineStatus),
    input.hostname,
    input.maintenance ? "1" : "0",
    input.stopped ? "1" : "0",
    "00000000",
    input.confOnSharedStorage ? "1" : "0",
    String(input.vmConfRefreshTime),
  ];
  fields[CRC_FIELD] = crc32Hex(Buffer.from(fields.join("|"), "utf8"));
  return fields.join("|");
}

/**
 * Field 6: keys in the original's order (vm, health, detail, reason). A `|` inside a
 * string is written as the JSON escape `\u007c` so it cannot split the line.
 */
function engineStatusJson(status: EngineStatus): string {
  const { vm, health, detail, reason, ...rest } = status as EngineStatus & Record<string, unknown>;
  return pythonJson({ vm, health, detail, reason, ...rest }).replaceAll("|", "\\u007c");
}

function humanReadablePart(input: HostBlockInput): string {
  const ts = input.timestamp + (input.timeEpoch ?? 0);
  const vmTs = input.vmConfRefreshTime + (input.vmConfRefreshTimeEpoch ?? 0);
  let info =
    `metadata_parse_version=${METADATA_PARSE_VERSION}\n` +
    `metadata_feature_version=${METADATA_FEATURE_VERSION}\n` +
    `timestamp=${input.timestamp} (${pythonCtime(ts)})\n` +
    `host-id=${input.hostId}\n` +
    `score=${input.score}\n` +
    `vm_conf_refresh_time=${input.vmConfRefreshTime} (${pythonCtime(vmTs)})\n` +
    `conf_on_shared_storage=${formatBool(input.confOnSharedStorage)}\n`;
  for (const key of Object.keys(input.stateExtra).sort()) {
    info += `${key}=${input.stateExtra[key]}\n`;
  }
  return info;
}

function checkInput(input: HostBlockInput): void {
  const bad = (reason: string) => new WhiteboardEncodeError("invalid-input", input.hostId, reason);
  if (!Number.isInteger(input.hostId) || input.hostId < 1 || input.hostId > MAX_HOST_ID) {
    throw bad(`host id ${input.hostId} is not an integer in 1..${MAX_HOST_ID}`);
  }
  for (const [name, v] of [
    ["timestamp", input.timestamp],
    ["score", input.score],
    ["vmConfRefreshTime", input.vmConfRefreshTime],
  ] as const) {
    if (!Number.isSafeInteger(v)) throw bad(`${name} ${v} is not an integer`);
  }
  if (/[|\n\0]/.test(input.hostname)) {
    throw bad(`hostname ${JSON.stringify(input.hostname)} contains '|', a newline or NUL`);
  }
  for (const [k, v] of Object.entries(input.stateExtra)) {
    if (/[=\n\0]/.test(k) || k === "")
      throw bad(`state key ${JSON.stringify(k)} is empty or holds '=', a newline or NUL`);
    if (typeof v !== "string" || /[\n\0]/.test(v)) {
      throw bad(`state value ${k}=${JSON.stringify(v)} is not a one-line string`);
    }
  }
}
