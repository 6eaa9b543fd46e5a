/**
 * The tar subset hosted-engine storage uses: ustar headers (as GNU tar and Python's
 * tarfile write them) for regular files; GNU long names and pax `path`/`size` records are
 * understood when reading. Pure functions over buffers.
 */

export const BLOCK = 512;

export interface TarMember {
  name: string;
  data: Buffer;
}

export interface TarEntry extends TarMember {
  /** typeflag as a character ("0" for regular files) */
  type: string;
  mode: number;
  mtime: number;
  /** byte offset of the header in the archive */
  offset: number;
}

/** Why a buffer is not a readable tar; `needBytes` when more input would help. */
export class TarFormatError extends Error {
  override name = "TarFormatError";
  constructor(
    reason: string,
    /** the archive is cut short: this many bytes from offset 0 are needed to go on */
    readonly needBytes?: number,
  ) {
    super(reason);
  }
}

export interface ParsedTar {
  entries: TarEntry[];
  /** offset just past the last member (where the end-of-archive blocks start) */
  end: number;
  /** true when a zero block closed the archive; false when the input simply ended */
  terminated: boolean;
}

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? length : nul).toString("utf8");
}

function numeric(block: Buffer, start: number, length: number, what: string, at: number): number {
  const raw = block.subarray(start, start + length);
  if ((raw[0]! & 0x80) !== 0) {
    // GNU base-256: big-endian two's complement, top bit set
    let v = raw[0]! & 0x7f;
    for (let i = 1; i < raw.length; i++) v = v * 256 + raw[i]!;
    return v;
  }
  const text = raw.toString("latin1").replace(/\0.*$/s, "").trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) {
    throw new TarFormatError(`header at byte ${at}: ${what} "${text}" is not an octal number`);
  }
  return Number.parseInt(text, 8);
}

function checksumOk(block: Buffer, at: number): boolean {
  let stored: number;
  try {
    stored = numeric(block, 148, 8, "checksum", at);
  } catch {
    return false;
  }
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

function isZero(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

function parsePax(data: Buffer, at: number): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space === -1) break;
    const len = Number(data.subarray(pos, space).toString("latin1"));
    if (!Number.isInteger(len) || len <= 0 || pos + len > data.length) {
      throw new TarFormatError(`pax header at byte ${at}: malformed record`);
    }
    const rec = data.subarray(space + 1, pos + len - 1).toString("utf8");
    const eq = rec.indexOf("=");
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    pos += len;
  }
  return out;
}

/**
 * Parses a tar archive at the start of `buf` (anything may follow its end). Stops at the
 * first zero block, like GNU tar. Throws TarFormatError on a corrupt header or a member
 * over `maxMember` bytes, or with `needBytes` when a member runs past the end of `buf`.
 */
export function parseTar(buf: Buffer, maxMember = Number.POSITIVE_INFINITY): ParsedTar {
  const entries: TarEntry[] = [];
  let pos = 0;
  let longName: string | undefined;
  let pax: Map<string, string> | undefined;
  while (true) {
    if (pos + BLOCK > buf.length) {
      if (pos === buf.length) return { entries, end: pos, terminated: false };
      throw new TarFormatError(`archive ends inside the header at byte ${pos}`, pos + BLOCK);
    }
    const block = buf.subarray(pos, pos + BLOCK);
    if (isZero(block)) return { entries, end: pos, terminated: true };
    if (!checksumOk(block, pos)) {
      throw new TarFormatError(
        pos === 0
          ? "not a tar archive (bad header checksum at byte 0)"
          : `bad header checksum at byte ${pos}`,
      );
    }
    const type = String.fromCharCode(block[156]!) === "\0" ? "0" : String.fromCharCode(block[156]!);
    let size = numeric(block, 124, 12, "size", pos);
    if (pax?.has("size")) size = Number(pax.get("size"));
    if (!(size <= maxMember)) {
      throw new TarFormatError(
        `member at byte ${pos} is ${size} bytes, more than the limit of ${maxMember}`,
      );
    }
    const dataStart = pos + BLOCK;
    const dataEnd = dataStart + size;
    if (dataEnd > buf.length) {
      throw new TarFormatError(
        `member at byte ${pos} needs ${size} bytes of data, the archive ends at byte ${buf.length}`,
        roundUp(dataEnd, BLOCK),
      );
    }
    const data = buf.subarray(dataStart, dataEnd);
    pos = dataStart + roundUp(size, BLOCK);
    if (type === "L") {
      longName = data.toString("utf8").replace(/\0+$/, "");
      continue;
    }
    if (type === "x") {
      pax = parsePax(data, pos);
      continue;
    }
    if (type === "g") continue;
    const magic = block.subarray(257, 263).toString("latin1");
    const prefix = magic.startsWith("ustar") ? field(block, 345, 155) : "";
    const plainName = prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100);
    const name = pax?.get("path") ?? longName ?? plainName;
    entries.push({
      name,
      data,
      type,
      mode: numeric(block, 100, 8, "mode", pos),
      mtime: numeric(block, 136, 12, "mtime", pos),
      offset: dataStart - BLOCK,
    });
    longName = undefined;
    pax = undefined;
  }
}

function putString(
  block: Buffer,
  start: number,
  length: number,
  value: string,
  what: string,
): void {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length > length)
    throw new TarFormatError(`${what} "${value}" is longer than ${length} bytes`);
  bytes.copy(block, start);
}

/** Python tarfile's itn(): `digits-1` octal digits then NUL. */
function putOctal(block: Buffer, start: number, length: number, value: number): void {
  const text = value.toString(8).padStart(length - 1, "0");
  if (text.length > length - 1)
    throw new TarFormatError(`value ${value} does not fit a ${length}-byte field`);
  block.write(`${text}\0`, start, "latin1");
}

/**
 * One ustar header for a regular file, byte for byte as Python's tarfile writes it for a
 * fresh TarInfo (mode 0644, uid/gid 0, mtime 0 unless given, empty user/group names,
 * empty device numbers).
 */
export function ustarHeader(name: string, size: number, mtime = 0): Buffer {
  const block = Buffer.alloc(BLOCK);
  putString(block, 0, 100, name, "member name");
  putOctal(block, 100, 8, 0o644);
  putOctal(block, 108, 8, 0);
  putOctal(block, 116, 8, 0);
  putOctal(block, 124, 12, size);
  putOctal(block, 136, 12, mtime);
  block.fill(0x20, 148, 156);
  block.write("0", 156, "latin1");
  block.write("ustar\0" + "00", 257, "latin1");
  // devmajor/devminor stay NUL for regular files, as Python 3.11's tarfile and GNU tar write them
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i]!;
  block.write(`${sum.toString(8).padStart(6, "0")}\0`, 148, "latin1");
  return block;
}

/** Bytes the members take in an archive: headers, padded data, and the two end blocks. */
export function tarLength(members: readonly TarMember[]): number {
  return members.reduce((n, m) => n + BLOCK + roundUp(m.data.length, BLOCK), 0) + 2 * BLOCK;
}

/**
 * Builds an uncompressed ustar archive of the members followed by zeros, padded to a
 * multiple of `recordSize` (GNU tar's default record is 10240 bytes).
 */
export function buildTar(members: readonly TarMember[], recordSize = 10240, mtime = 0): Buffer {
  const used = tarLength(members);
  const out = Buffer.alloc(roundUp(used, recordSize));
  let pos = 0;
  for (const m of members) {
    ustarHeader(m.name, m.data.length, mtime).copy(out, pos);
    pos += BLOCK;
    m.data.copy(out, pos);
    pos += roundUp(m.data.length, BLOCK);
  }
  return out;
}
