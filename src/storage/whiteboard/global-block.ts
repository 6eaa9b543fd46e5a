import { isUtf8 } from "node:buffer";
import { splitKeyValue } from "../../common/keyvalue.js";
import { endWithoutTrailingNuls } from "./bytes.js";
import { WhiteboardEncodeError } from "./errors.js";
import { type GlobalBlock, SEGMENT_SIZE } from "./types.js";

/** The global block when segment 0 is empty or unreadable. */
export function defaultGlobalBlock(): GlobalBlock {
  return { maintenance: false, unknown: {} };
}

/**
 * Segment 0: `key=value` entries separated by newlines (no trailing newline, as the
 * original writes it), NUL-padded to 4096 bytes. `maintenance` comes first as `1`/`0`,
 * then the unknown keys we read earlier, in their order, so nothing is lost.
 */
export function encodeGlobalBlock(g: GlobalBlock): Buffer {
  const lines = [`maintenance=${g.maintenance ? 1 : 0}`];
  for (const [k, v] of Object.entries(g.unknown)) {
    if (k === "maintenance") continue;
    if (k === "" || /[=\n\0]/.test(k) || /[\n\0]/.test(v)) {
      throw new WhiteboardEncodeError(
        "invalid-input",
        0,
        `global key ${JSON.stringify(k)}=${JSON.stringify(v)} would break the key=value lines`,
      );
    }
    lines.push(`${k}=${v}`);
  }
  const text = Buffer.from(lines.join("\n"), "utf8");
  if (text.length > SEGMENT_SIZE) {
    throw new WhiteboardEncodeError(
      "global-too-long",
      0,
      `global block is ${text.length} bytes, the limit is ${SEGMENT_SIZE}`,
    );
  }
  const out = Buffer.alloc(SEGMENT_SIZE);
  text.copy(out);
  return out;
}

/** Python's util.to_bool: by the first character (t/y/1 true, f/n/0 false). */
function toBool(value: string): boolean | undefined {
  const first = value.slice(0, 1).toLowerCase();
  if (first === "t" || first === "y" || first === "1") return true;
  if (first === "f" || first === "n" || first === "0") return false;
  return undefined;
}

/**
 * Reads segment 0. Never throws: unknown keys, lines without `=`, a bad boolean, a short
 * or non-UTF-8 block become warnings; unknown keys are kept in `unknown`, so that
 * encodeGlobalBlock(decoded block) always succeeds and loses nothing it could write.
 */
export function decodeGlobalBlock(buf: Buffer): { block: GlobalBlock; warnings: string[] } {
  const block = defaultGlobalBlock();
  const warnings: string[] = [];
  if (buf.length < SEGMENT_SIZE) {
    warnings.push(
      `malformed global metadata: received ${buf.length} of ${SEGMENT_SIZE} expected bytes`,
    );
    return { block, warnings };
  }
  const seg = buf.subarray(0, SEGMENT_SIZE);
  if (!isUtf8(seg)) {
    warnings.push("global metadata is not valid UTF-8");
    return { block, warnings };
  }
  const text = seg.toString("utf8", 0, endWithoutTrailingNuls(seg, 0, SEGMENT_SIZE));
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const kv = splitKeyValue(line);
    // lines that could not be written back (no key, NUL bytes) are reported, not kept
    if (kv === null || line.includes("\0")) {
      warnings.push(`invalid global metadata line: ${JSON.stringify(line.slice(0, 80))}`);
      continue;
    }
    const { key, value } = kv;
    if (key === "maintenance") {
      const b = toBool(value);
      if (b === undefined)
        warnings.push(`invalid value for global maintenance: ${JSON.stringify(value)}`);
      else block.maintenance = b;
    } else if (key === "__proto__") {
      warnings.push("invalid global metadata key: __proto__");
    } else {
      block.unknown[key] = value;
      warnings.push(`unknown global metadata key: ${key}`);
    }
  }
  return { block, warnings };
}
