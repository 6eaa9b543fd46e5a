import { isUtf8 } from "node:buffer";
import { decodeGlobalBlock, defaultGlobalBlock } from "./global-block.js";
import { decodeHostBlock, decodeSegmentAt } from "./host-block-decode.js";
import {
  type DecodeError,
  type HostBlock,
  SEGMENT_COUNT,
  SEGMENT_SIZE,
  type WhiteboardSnapshot,
} from "./types.js";

/**
 * Decodes a full whiteboard read: segment 0 as the global block, segments 1..2000 as host
 * blocks (fewer when `buf` is shorter; a short last segment is decoded as such). Empty
 * segments are skipped without allocating; one bad segment never hides the others.
 */
export function decodeWhiteboard(buf: Buffer): WhiteboardSnapshot {
  const hosts = new Map<number, HostBlock>();
  const errors: DecodeError[] = [];
  let tooNew = false;
  let global = defaultGlobalBlock();
  let globalWarnings: string[] = [];

  if (buf.length > 0 && buf[0] !== 0) {
    const g = decodeGlobalBlock(buf.subarray(0, SEGMENT_SIZE));
    global = g.block;
    globalWarnings = g.warnings;
  }
  const count = Math.min(SEGMENT_COUNT, Math.ceil(buf.length / SEGMENT_SIZE));
  const size = Math.min(buf.length, count * SEGMENT_SIZE);
  // One native check for the whole read; a segment of a valid whole is valid on its own
  // when neither its first byte nor the byte after it continues a multi-byte character.
  const allUtf8 = isUtf8(buf.subarray(0, size));
  for (let i = 1; i < count; i++) {
    const off = i * SEGMENT_SIZE;
    if (buf[off] === 0) continue;
    const end = Math.min(off + SEGMENT_SIZE, size);
    const utf8 = allUtf8 && !continuation(buf[off]!) && (end >= size || !continuation(buf[end]!));
    const r = decodeSegmentAt(buf, off, end, i, utf8);
    if (r.ok) hosts.set(i, r.block);
    else {
      errors.push(r.error);
      if (r.error.kind === "too-new") tooNew = true;
    }
  }
  return { global, hosts, errors, tooNew, globalWarnings };
}

/**
 * Decodes a whiteboard given segment by segment (segment id → bytes, 0 = the global block),
 * as the broker's get_stats answers it: every segment decoded on its own, empty ones
 * skipped, so one bad block never hides the others.
 */
export function decodeSegments(segments: ReadonlyMap<number, Buffer>): WhiteboardSnapshot {
  const hosts = new Map<number, HostBlock>();
  const errors: DecodeError[] = [];
  let tooNew = false;
  let global = defaultGlobalBlock();
  let globalWarnings: string[] = [];
  for (const [id, buf] of segments) {
    if (id === 0) {
      if (buf.length > 0 && buf[0] !== 0) {
        const g = decodeGlobalBlock(buf);
        global = g.block;
        globalWarnings = g.warnings;
      }
      continue;
    }
    const r = decodeHostBlock(buf, id);
    if (r === undefined) continue;
    if (r.ok) hosts.set(id, r.block);
    else {
      errors.push(r.error);
      if (r.error.kind === "too-new") tooNew = true;
    }
  }
  return { global, hosts, errors, tooNew, globalWarnings };
}

/** UTF-8 continuation byte (10xxxxxx). */
function continuation(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}
