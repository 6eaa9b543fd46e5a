import { constants } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import koffi from "koffi";
import type { Logger } from "../common/log.js";
import { silentLogger } from "../common/log.js";
import { SEGMENT_COUNT, SEGMENT_SIZE } from "./whiteboard/types.js";

/**
 * O_DIRECT needs buffer address, file offset and length aligned to the device's logical
 * sector size; 4096 covers both sizes there are (512 and 4K, common/sector-geometry.ts), so
 * every buffer, offset and length here is a multiple of it.
 */
export const IO_ALIGNMENT = 4096;

/** Segments per read of MetadataVolume.scanSegments(): 1 MiB, NFS's largest rsize. */
export const SCAN_CHUNK_SEGMENTS = 256;

/** A read or write of the metadata volume failed: names the file, the operation, the segment. */
export class MetadataIoError extends Error {
  override name = "MetadataIoError";
  constructor(
    readonly path: string,
    readonly op: "open" | "read" | "write" | "close",
    readonly reason: string,
    readonly segment?: number,
    override readonly cause?: unknown,
  ) {
    super(
      `metadata volume ${path}: ${op}${segment === undefined ? "" : ` of segment ${segment}`} failed: ${reason}`,
    );
  }
}

/**
 * A buffer of `size` bytes (contents not initialised) whose first byte sits at a multiple
 * of IO_ALIGNMENT in memory. Node gives no alignment guarantee, so we over-allocate
 * outside the pool (memory that never moves) and start at the first aligned byte.
 */
export function alignedBuffer(size: number): Buffer {
  const raw = Buffer.allocUnsafeSlow(size + IO_ALIGNMENT);
  const address = koffi.address(raw) as bigint;
  const misalign = Number(address % BigInt(IO_ALIGNMENT));
  const skip = misalign === 0 ? 0 : IO_ALIGNMENT - misalign;
  return raw.subarray(skip, skip + size);
}

const warnedFallback = new Set<string>();

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

export interface MetadataVolumeOptions {
  logger?: Logger;
  /** open O_RDONLY (metadata dump): writes then fail */
  readOnly?: boolean;
  /**
   * the domain's sector size (512 default): every I/O's offset and length is checked to
   * be a multiple of it before it is issued, so a 4K device never sees a smaller one
   */
  sectorSize?: number;
}

/**
 * The whiteboard volume, opened once with `O_DIRECT | O_SYNC` so that reads always come
 * from storage (never this host's page cache) and each write is on storage when it
 * returns. Where the filesystem refuses O_DIRECT (EINVAL) it falls back to buffered
 * `O_SYNC` I/O and logs that once per path. All I/O goes through libuv's thread pool
 * (positional reads/writes), never blocking the event loop. Writes are serialised and
 * always exactly one 4096-byte segment at `index * 4096`.
 */
export class MetadataVolume {
  private writeChain: Promise<void> = Promise.resolve();
  private readonly writeBuf = alignedBuffer(SEGMENT_SIZE);
  /** the chunk buffer scanSegments() fills, allocated on its first call */
  private scanBuf: Buffer | undefined;
  private scanBusy = false;

  private constructor(
    readonly path: string,
    private handle: FileHandle,
    private direct: boolean,
    private readonly readOnly: boolean,
    private readonly log: Logger,
    private readonly sectorSize: number,
  ) {}

  /** true while I/O bypasses the page cache (O_DIRECT) */
  get directIo(): boolean {
    return this.direct;
  }

  static async open(path: string, opts: MetadataVolumeOptions = {}): Promise<MetadataVolume> {
    const log = opts.logger ?? silentLogger;
    const readOnly = opts.readOnly ?? false;
    const sectorSize = opts.sectorSize ?? 512;
    if (IO_ALIGNMENT % sectorSize !== 0)
      throw new MetadataIoError(
        path,
        "open",
        `sector size ${sectorSize} does not divide ${IO_ALIGNMENT}`,
      );
    const base = (readOnly ? constants.O_RDONLY : constants.O_RDWR) | constants.O_SYNC;
    try {
      const handle = await open(path, base | constants.O_DIRECT);
      return new MetadataVolume(path, handle, true, readOnly, log, sectorSize);
    } catch (e) {
      if (errnoCode(e) !== "EINVAL") throw ioError(path, "open", e);
    }
    noteFallback(log, path, "open with O_DIRECT returned EINVAL");
    try {
      const handle = await open(path, base);
      return new MetadataVolume(path, handle, false, readOnly, log, sectorSize);
    } catch (e) {
      throw ioError(path, "open", e);
    }
  }

  /**
   * Reads segments 0..2000 in one request (fewer when the file is shorter: the result is
   * then the file's size). The returned buffer belongs to the caller.
   */
  async readAll(): Promise<Buffer> {
    return this.readRange(0, SEGMENT_COUNT * SEGMENT_SIZE);
  }

  /**
   * Reads segments 0..2000 like readAll(), for a daemon that reads the whiteboard every
   * few seconds: a chunk of SCAN_CHUNK_SEGMENTS at a time, into one aligned buffer this
   * volume keeps (1 MiB resident instead of 8 MiB allocated per read). `visit` gets each
   * whole segment as a view that is only valid during the call: copy what must be kept.
   * Resolves with the number of segments read (fewer when the file is shorter). A call
   * made while another is still reading uses a buffer of its own.
   */
  async scanSegments(visit: (index: number, segment: Buffer) => void): Promise<number> {
    const chunk = SCAN_CHUNK_SEGMENTS * SEGMENT_SIZE;
    const own = !this.scanBusy;
    if (own) {
      this.scanBuf ??= alignedBuffer(chunk);
      this.scanBusy = true;
    }
    const buf = own && this.scanBuf ? this.scanBuf : alignedBuffer(chunk);
    try {
      let index = 0;
      while (index < SEGMENT_COUNT) {
        const want = Math.min(SCAN_CHUNK_SEGMENTS, SEGMENT_COUNT - index) * SEGMENT_SIZE;
        const view = buf.subarray(0, want);
        const got = await this.withFallback("read", undefined, () =>
          this.fill(view, index * SEGMENT_SIZE),
        );
        const whole = Math.floor(got / SEGMENT_SIZE);
        for (let i = 0; i < whole; i++) {
          visit(index + i, view.subarray(i * SEGMENT_SIZE, (i + 1) * SEGMENT_SIZE));
        }
        index += whole;
        if (got < want) break;
      }
      return index;
    } finally {
      if (own) this.scanBusy = false;
    }
  }

  /** One 4096-byte segment (shorter or empty past the end of the file). */
  async readSegment(index: number): Promise<Buffer> {
    const bad = badIndex(this.path, "read", index);
    if (bad) throw bad;
    return this.readRange(index * SEGMENT_SIZE, SEGMENT_SIZE, index);
  }

  /** Writes exactly one segment; resolves when it is on storage. Serialised per volume. */
  writeSegment(index: number, data: Uint8Array): Promise<void> {
    const bad = badIndex(this.path, "write", index);
    if (bad) return Promise.reject(bad);
    if (data.length !== SEGMENT_SIZE) {
      return Promise.reject(
        new MetadataIoError(
          this.path,
          "write",
          `segment data is ${data.length} bytes, expected ${SEGMENT_SIZE}`,
          index,
        ),
      );
    }
    if (this.readOnly) {
      return Promise.reject(
        new MetadataIoError(this.path, "write", "volume was opened read-only", index),
      );
    }
    const copy = Buffer.from(data);
    const run = this.writeChain.then(() => this.writeNow(index, copy));
    // the caller gets the failure through `run`; the chain only orders the next write
    this.writeChain = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.writeChain;
    try {
      await this.handle.close();
    } catch (e) {
      throw ioError(this.path, "close", e);
    }
  }

  private async writeNow(index: number, data: Buffer): Promise<void> {
    data.copy(this.writeBuf);
    await this.withFallback("write", index, async () => {
      let done = 0;
      while (done < SEGMENT_SIZE) {
        this.checkSectors("write", index * SEGMENT_SIZE + done, SEGMENT_SIZE - done, index);
        const { bytesWritten } = await this.handle.write(
          this.writeBuf,
          done,
          SEGMENT_SIZE - done,
          index * SEGMENT_SIZE + done,
        );
        if (bytesWritten <= 0) throw new Error("short write");
        done += bytesWritten;
      }
    });
  }

  private async readRange(position: number, length: number, segment?: number): Promise<Buffer> {
    const buf = alignedBuffer(length);
    const got = await this.withFallback("read", segment, () => this.fill(buf, position));
    return buf.subarray(0, got);
  }

  /** Fills `buf` from file offset `position`; returns the bytes read (less at end of file). */
  private async fill(buf: Buffer, position: number): Promise<number> {
    let done = 0;
    while (done < buf.length) {
      this.checkSectors("read", position + done, buf.length - done);
      const { bytesRead } = await this.handle.read(buf, done, buf.length - done, position + done);
      done += bytesRead;
      // at end of file, or at an unaligned end that O_DIRECT cannot continue from
      if (bytesRead === 0 || done % IO_ALIGNMENT !== 0) break;
    }
    return done;
  }

  /** Refuses an I/O that is not whole sectors of the domain (never sent to the device). */
  private checkSectors(op: "read" | "write", position: number, length: number, segment?: number) {
    if (position % this.sectorSize === 0 && length % this.sectorSize === 0) return;
    throw new MetadataIoError(
      this.path,
      op,
      `${length} bytes at ${position} are not whole ${this.sectorSize}-byte sectors`,
      segment,
    );
  }

  /**
   * Runs one I/O; if the filesystem accepted O_DIRECT at open but rejects it on I/O
   * (EINVAL), reopens buffered and retries once.
   */
  private async withFallback<T>(
    op: "read" | "write",
    segment: number | undefined,
    io: () => Promise<T>,
  ): Promise<T> {
    try {
      return await io();
    } catch (e) {
      if (!(this.direct && errnoCode(e) === "EINVAL")) throw ioError(this.path, op, e, segment);
    }
    noteFallback(this.log, this.path, `${op} with O_DIRECT returned EINVAL`);
    try {
      const flags = (this.readOnly ? constants.O_RDONLY : constants.O_RDWR) | constants.O_SYNC;
      const buffered = await open(this.path, flags);
      // the O_DIRECT handle is replaced by the buffered one: closing it is best effort
      await this.handle.close().catch(() => undefined);
      this.handle = buffered;
      this.direct = false;
      return await io();
    } catch (e) {
      throw ioError(this.path, op, e, segment);
    }
  }
}

function noteFallback(log: Logger, path: string, why: string): void {
  if (warnedFallback.has(path)) return;
  warnedFallback.add(path);
  log.warn(
    { path, reason: why },
    "metadata volume: filesystem does not support O_DIRECT; using buffered O_SYNC I/O",
  );
}

function badIndex(path: string, op: "read" | "write", index: number): MetadataIoError | undefined {
  if (Number.isInteger(index) && index >= 0 && index < SEGMENT_COUNT) return undefined;
  return new MetadataIoError(path, op, `segment index ${index} is outside 0..${SEGMENT_COUNT - 1}`);
}

function ioError(
  path: string,
  op: MetadataIoError["op"],
  e: unknown,
  segment?: number,
): MetadataIoError {
  const err = e as NodeJS.ErrnoException;
  return new MetadataIoError(
    path,
    op,
    err?.code ? `${err.code}: ${err.message}` : String(err?.message ?? e),
    segment,
    e,
  );
}

/** Whether `path` (an existing file) can be opened with O_DIRECT. */
export async function isDirectIoSupported(path: string): Promise<boolean> {
  try {
    const h = await open(path, constants.O_RDONLY | constants.O_DIRECT);
    await h.close();
    return true;
  } catch (e) {
    if (errnoCode(e) === "EINVAL") return false;
    throw ioError(path, "open", e);
  }
}

/**
 * Reads the first `IO_ALIGNMENT` bytes of `path` in this process, with O_DIRECT (from
 * storage, not the page cache) unless `direct` is false, and O_NONBLOCK so that opening
 * a FIFO or a device that waits for a peer never parks a thread pool thread (callers
 * bound it in time: bounded-io.ts). Resolves
 * with the number of bytes read; rejects with the errno error (EINVAL from open: the file
 * system refuses O_DIRECT).
 */
export async function readHead(path: string, direct: boolean): Promise<number> {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (direct ? constants.O_DIRECT : 0);
  const h = await open(path, flags);
  try {
    const buf = alignedBuffer(IO_ALIGNMENT);
    let got = 0;
    while (got < IO_ALIGNMENT) {
      const { bytesRead } = await h.read(buf, got, IO_ALIGNMENT - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got;
  } finally {
    await h.close();
  }
}
