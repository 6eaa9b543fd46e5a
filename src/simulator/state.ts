import { MAX_HOST_ID, SEGMENT_SIZE } from "../storage/whiteboard/types.js";

/**
 * A saved cluster state: the shared whiteboard as on storage, one line per non-empty
 * segment, `segment <index> <base64>` (the segment's bytes with trailing NULs left out;
 * index 0 is the global block). A scenario folder with a `state` file starts its
 * cluster from it; `SimResult.state` is the same text at the end of a run, and the
 * segments a live broker's get_stats answers make one too (formatState).
 */
export function formatState(segments: ReadonlyMap<number, Buffer>): string {
  const lines = ["# whiteboard segments: segment <index> <base64, trailing NULs left out>"];
  for (const [i, seg] of [...segments].sort((a, b) => a[0] - b[0])) {
    let end = seg.length;
    while (end > 0 && seg[end - 1] === 0) end--;
    if (end > 0) lines.push(`segment ${i} ${seg.subarray(0, end).toString("base64")}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Parses a `state` file; a bad line is the error `bad` makes of its number and reason. */
export function parseState(
  text: string,
  bad: (line: number, why: string) => Error,
): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  text.split("\n").forEach((raw, n) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    const m = /^segment\s+(\d+)\s+([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) throw bad(n + 1, `expected "segment <index> <base64>"`);
    const index = Number(m[1]);
    if (index > MAX_HOST_ID)
      throw bad(n + 1, `segment ${index} is past the last host id ${MAX_HOST_ID}`);
    const data = Buffer.from(m[2]!, "base64");
    if (data.length > SEGMENT_SIZE)
      throw bad(n + 1, `segment ${index} holds ${data.length} bytes, more than ${SEGMENT_SIZE}`);
    if (out.has(index)) throw bad(n + 1, `segment ${index} given twice`);
    out.set(index, data);
  });
  return out;
}
