import { promisify } from "node:util";
import { crc32, inflateRaw } from "node:zlib";
import { mib } from "./limits.js";

const inflateRawAsync = promisify(inflateRaw);

/** True when the bytes start with the gzip magic 1f 8b. */
export function isGzip(buf: Buffer): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** Why gzip data cannot be decompressed; `truncated` when more input might help. */
export class GzipError extends Error {
  override name = "GzipError";
  constructor(
    reason: string,
    readonly truncated: boolean,
  ) {
    super(reason);
  }
}

const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;

function headerLength(buf: Buffer): number {
  if (buf.length < 10) throw new GzipError("gzip header cut short", true);
  if (buf[2] !== 8) throw new GzipError(`gzip compression method ${buf[2]} is not deflate`, false);
  const flags = buf[3]!;
  let pos = 10;
  if (flags & FEXTRA) {
    if (buf.length < pos + 2) throw new GzipError("gzip header cut short", true);
    pos += 2 + buf.readUInt16LE(pos);
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (flags & flag) {
      const nul = buf.indexOf(0, pos);
      if (nul === -1) throw new GzipError("gzip header cut short", true);
      pos = nul + 1;
    }
  }
  if (flags & FHCRC) pos += 2;
  if (pos > buf.length) throw new GzipError("gzip header cut short", true);
  return pos;
}

/**
 * Decompresses the first gzip member at the start of `buf`, ignoring whatever follows it
 * (a volume holds zeros or old data after the archive). Checks the member's CRC32 and
 * length trailer. Runs in libuv's thread pool. Inflating stops as soon as the output
 * passes `maxOutput` bytes (a bomb costs that much memory and time, no more).
 */
export async function gunzipFirstMember(buf: Buffer, maxOutput: number): Promise<Buffer> {
  const start = headerLength(buf);
  let out: Buffer;
  try {
    out = await inflateRawAsync(buf.subarray(start), { maxOutputLength: maxOutput });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE")
      throw new GzipError(`gzip data expands past the limit of ${mib(maxOutput)}`, false);
    if ((e as NodeJS.ErrnoException).code === "Z_BUF_ERROR")
      throw new GzipError("gzip data cut short", true);
    throw new GzipError(`corrupt gzip data: ${(e as Error).message}`, false);
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(out) >>> 0, 0);
  trailer.writeUInt32LE(out.length % 2 ** 32, 4);
  if (buf.indexOf(trailer, start) === -1) {
    // raw inflate stops quietly on cut-short input: a missing trailer means either
    throw new GzipError("gzip data cut short or corrupt (no matching CRC32/length trailer)", true);
  }
  return out;
}
