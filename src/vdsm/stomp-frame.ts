/**
 * STOMP 1.2 frames as VDSM's yajsonrpc/stomp.py writes and reads them (pure).
 *
 * A frame is `COMMAND\n` + `name:value\n`… + `\n` + body + `\0`. Header names and values
 * escape `\\`, `:`, `\r`, `\n` as `\\\\`, `\\c`, `\\r`, `\\n` (VDSM escapes every frame,
 * CONNECT included). A body's length is given by `content-length` when present (it may
 * hold NUL bytes), else it ends at the first NUL. Between frames a bare end of line is a
 * heart-beat. Of repeated headers the first counts.
 */

export interface StompFrame {
  command: string;
  headers: Record<string, string>;
  body: Buffer;
}

export class StompFrameError extends Error {
  override name = "StompFrameError";
}

const ENCODE: Record<string, string> = { "\\": "\\\\", ":": "\\c", "\r": "\\r", "\n": "\\n" };
const DECODE: Record<string, string> = { "\\\\": "\\", "\\c": ":", "\\r": "\r", "\\n": "\n" };

function encodeValue(v: string): string {
  return v.replace(/[\\:\r\n]/g, (c) => ENCODE[c] ?? c);
}

function decodeValue(v: string, where: string): string {
  return v.replace(/\\(.)/gs, (m) => {
    const d = DECODE[m];
    if (d === undefined) throw new StompFrameError(`${where}: invalid escape sequence '${m}'`);
    return d;
  });
}

/** The bytes of a frame; `content-length` is set from the body (as stomp.py does). */
export function encodeFrame(
  command: string,
  headers: Record<string, string> = {},
  body: Buffer | string = Buffer.alloc(0),
): Buffer {
  const b = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  const all = { ...headers };
  if (b.length > 0 || command === "SEND" || command === "MESSAGE")
    all["content-length"] = String(b.length);
  let head = `${encodeValue(command)}\n`;
  for (const [k, v] of Object.entries(all)) head += `${encodeValue(k)}:${encodeValue(v)}\n`;
  return Buffer.concat([Buffer.from(`${head}\n`, "utf8"), b, Buffer.from([0])]);
}

/** Largest frame accepted (headers + body); a peer sending more is cut off. */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** Incremental parser: push() bytes as they arrive, get whole frames back. */
export class StompParser {
  private buf: Buffer = Buffer.alloc(0);

  /** Frames completed by `chunk`; throws StompFrameError on a malformed frame. */
  push(chunk: Buffer): StompFrame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: StompFrame[] = [];
    for (;;) {
      // heart-beats (and stray line ends) between frames
      let start = 0;
      while (start < this.buf.length && (this.buf[start] === 0x0a || this.buf[start] === 0x0d))
        start++;
      if (start > 0) this.buf = this.buf.subarray(start);
      const frame = this.next();
      if (!frame) break;
      out.push(frame);
    }
    if (this.buf.length > MAX_FRAME_BYTES)
      throw new StompFrameError(`frame larger than ${MAX_FRAME_BYTES} bytes`);
    return out;
  }

  private next(): StompFrame | null {
    const end = this.buf.indexOf("\n\n");
    const endCr = this.buf.indexOf("\r\n\r\n");
    let headEnd: number;
    let sep: number;
    if (end < 0 && endCr < 0) return null;
    if (endCr >= 0 && (end < 0 || endCr < end)) {
      headEnd = endCr;
      sep = 4;
    } else {
      headEnd = end;
      sep = 2;
    }
    const lines = this.buf.subarray(0, headEnd).toString("utf8").split("\n");
    const command = decodeValue((lines[0] ?? "").replace(/\r$/, ""), "command");
    if (!/^[A-Z]+$/.test(command)) throw new StompFrameError(`bad command '${command}'`);
    const headers: Record<string, string> = {};
    for (const raw of lines.slice(1)) {
      const line = raw.replace(/\r$/, "");
      const colon = line.indexOf(":");
      if (colon < 0) throw new StompFrameError(`${command}: header line without ':' '${line}'`);
      const k = decodeValue(line.slice(0, colon), `${command} header name`);
      const v = decodeValue(line.slice(colon + 1), `${command} header ${k}`);
      if (!(k in headers)) headers[k] = v;
    }
    const bodyStart = headEnd + sep;
    let bodyEnd: number;
    const len = headers["content-length"];
    if (len !== undefined) {
      const n = Number(len);
      if (!Number.isInteger(n) || n < 0)
        throw new StompFrameError(`${command}: content-length '${len}' is not a byte count`);
      if (this.buf.length < bodyStart + n + 1) return null;
      bodyEnd = bodyStart + n;
      if (this.buf[bodyEnd] !== 0)
        throw new StompFrameError(`${command}: no NUL after ${n} bytes of body`);
    } else {
      bodyEnd = this.buf.indexOf(0, bodyStart);
      if (bodyEnd < 0) return null;
    }
    const body = Buffer.from(this.buf.subarray(bodyStart, bodyEnd));
    this.buf = this.buf.subarray(bodyEnd + 1);
    return { command, headers, body };
  }
}
