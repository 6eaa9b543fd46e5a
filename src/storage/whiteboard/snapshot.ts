import { decodeGlobalBlock, defaultGlobalBlock } from "./global-block.js";
import { decodeHostBlock } from "./host-block-decode.js";
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
  for (let i = 1; i < count; i++) {
    const off = i * SEGMENT_SIZE;
    if (buf[off] === 0) continue;
    const r = decodeHostBlock(buf.subarray(off, Math.min(off + SEGMENT_SIZE, buf.length)), i);
    if (r === undefined) continue;
    if (r.ok) hosts.set(i, r.block);
    else {
      errors.push(r.error);
      if (r.error.kind === "too-new") tooNew = true;
    }
  }
  return { global, hosts, errors, tooNew, globalWarnings };
}
