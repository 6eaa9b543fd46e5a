import { promisify } from "node:util";
import { gzip } from "node:zlib";

const gzipAsync = promisify(gzip);

/**
 * Answers longer than this many bytes are gzipped for a client that accepts gzip. It is
 * the `encode_threshold` of Python's SimpleXMLRPCRequestHandler, which the original
 * broker serves with. Python's xmlrpc.client asks for gzip by default (VDSM,
 * hosted-engine --vm-status), so they receive get_stats compressed from either broker.
 */
export const GZIP_THRESHOLD = 1400;

/**
 * Whether an `Accept-Encoding` header accepts gzip: listed, with no `q` or a `q` above
 * 0. Like Python's `accept_encodings()`, `*` is not read as gzip.
 */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  const text = Array.isArray(header) ? header.join(",") : header;
  for (const item of text.split(",")) {
    const [name = "", ...params] = item.split(";").map((s) => s.trim());
    if (name.toLowerCase() !== "gzip") continue;
    const q = params.find((p) => /^q\s*=/i.test(p));
    if (q === undefined) return true;
    const value = Number(q.slice(q.indexOf("=") + 1).trim());
    return Number.isFinite(value) && value > 0;
  }
  return false;
}

/** gzip of answers the broker hands out again and again (get_stats until the whiteboard changes) */
const compressed = new WeakMap<Buffer, Promise<Buffer>>();

/**
 * The gzip encoding of an answer, off the event loop (zlib's thread pool). A Buffer
 * answer is compressed once and the result kept as long as the Buffer lives, so the
 * cached get_stats document costs one compression per whiteboard change.
 */
export function gzipReply(body: string | Buffer): Promise<Buffer> {
  if (typeof body === "string") return gzipAsync(body);
  let hit = compressed.get(body);
  if (hit === undefined) {
    hit = gzipAsync(body);
    compressed.set(body, hit);
    // a failed compression is not cached; the caller sees the failure through `hit`
    hit.catch(() => compressed.delete(body));
  }
  return hit;
}
